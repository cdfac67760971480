-- App-login eligibility (MariaDB / MySQL JSON functions): a 0/1 expression, never NULL, over one
-- user JSON document held in a JSON or text column. {json_column} is replaced by the Python
-- side with a validated, backtick-quoted column reference. Full-line comments are stripped
-- before use, and the expression holds no % or ? so it can sit inside a parameterised query.
--
-- Same rule as app_login_eligible_postgres.sql (read that file for the canonical shape):
-- a non-empty object under sso.google / sso.facebook / sso.apple, or a string
-- external_operator_number with a non-space character. '$.sso.google' does not look inside an
-- array, so {"sso": [...]} never counts, as in Postgres. Invalid JSON counts as not eligible.
COALESCE(
    (JSON_TYPE(JSON_EXTRACT({json_column}, '$.sso.google')) = 'OBJECT'
        AND JSON_LENGTH(JSON_EXTRACT({json_column}, '$.sso.google')) > 0)
    OR (JSON_TYPE(JSON_EXTRACT({json_column}, '$.sso.facebook')) = 'OBJECT'
        AND JSON_LENGTH(JSON_EXTRACT({json_column}, '$.sso.facebook')) > 0)
    OR (JSON_TYPE(JSON_EXTRACT({json_column}, '$.sso.apple')) = 'OBJECT'
        AND JSON_LENGTH(JSON_EXTRACT({json_column}, '$.sso.apple')) > 0)
    OR (JSON_TYPE(JSON_EXTRACT({json_column}, '$.external_operator_number')) = 'STRING'
        AND JSON_UNQUOTE(JSON_EXTRACT({json_column}, '$.external_operator_number'))
            REGEXP '[^[:space:]]'),
    FALSE
)
