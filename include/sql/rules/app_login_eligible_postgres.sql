-- App-login eligibility (Postgres): a boolean expression, never NULL, over one user JSON document.
-- {json_column} is replaced by the Python side (recon_operators.migration.formulas) with a
-- validated, double-quoted column reference; the column may be jsonb, json or text holding JSON.
-- Full-line comments are stripped before use, and the expression holds no % or ? so it can sit
-- inside a parameterised query.
--
-- Canonical shape:
--   {"sso": {"google": {...}, "facebook": {...}, "apple": {...}}, "external_operator_number": "..."}
-- Eligible when either
--   * "sso" is an object and at least one of its keys google / facebook / apple (exact,
--     lower case) holds a non-empty object (the connection record), or
--   * "external_operator_number" is a string with at least one non-space character.
-- Anything else is not a connection: null, false, true, "", {}, [], arrays of records, numbers,
-- "sso" given as an array or string, other providers, other spellings of the keys.
-- A NULL document is not eligible; a text column holding invalid JSON raises an error.
COALESCE(
    (jsonb_typeof(({json_column})::jsonb -> 'sso' -> 'google') = 'object'
        AND ({json_column})::jsonb -> 'sso' -> 'google' <> '{}'::jsonb)
    OR (jsonb_typeof(({json_column})::jsonb -> 'sso' -> 'facebook') = 'object'
        AND ({json_column})::jsonb -> 'sso' -> 'facebook' <> '{}'::jsonb)
    OR (jsonb_typeof(({json_column})::jsonb -> 'sso' -> 'apple') = 'object'
        AND ({json_column})::jsonb -> 'sso' -> 'apple' <> '{}'::jsonb)
    OR (jsonb_typeof(({json_column})::jsonb -> 'external_operator_number') = 'string'
        AND (({json_column})::jsonb ->> 'external_operator_number') ~ '[^[:space:]]'),
    false
)
