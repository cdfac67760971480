-- A per-run stage table for one extract: every column TEXT, so schema drift or odd values never
-- break the load; the row diff decides what compares as a number. {table} and {columns} are
-- validated, quoted identifiers filled in by recon_operators.claims.stage.
DROP TABLE IF EXISTS {table};
CREATE TABLE {table} ({columns});
