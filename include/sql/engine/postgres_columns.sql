-- Declared types of a result's columns: the table column's own type and modifier when the
-- column comes straight from a table (psycopg2's table_oid/table_column), else the result type.
SELECT format_type(coalesce(a.atttypid, c.typ), CASE WHEN a.atttypid IS NULL THEN NULL ELSE a.atttypmod END)
FROM unnest(%(types)s::oid[], %(tables)s::oid[], %(columns)s::int[]) WITH ORDINALITY AS c(typ, rel, att, i)
LEFT JOIN pg_attribute a ON a.attrelid = c.rel AND a.attnum = c.att AND NOT a.attisdropped
ORDER BY c.i
