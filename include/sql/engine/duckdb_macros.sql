-- Canonical-form helpers on every DuckDB connection of the engine (file sides, row diffs).
-- recon_decimal: a plain decimal text without trailing fractional zeros ('4.280' -> '4.28',
-- '100.00' -> '100', '-0.0' -> '0'). recon_float: a double as its shortest round-trip text
-- ('100' -> '100.0', '1e16' -> '1e+16'; -0.0 -> '0.0'), text that is no number kept as it is.
CREATE OR REPLACE MACRO recon_decimal(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN NOT contains(v, '.') THEN CASE WHEN v = '-0' THEN '0' ELSE v END
         WHEN rtrim(rtrim(v, '0'), '.') IN ('-0', '-') THEN '0'
         ELSE rtrim(rtrim(v, '0'), '.') END;
CREATE OR REPLACE MACRO recon_float(v) AS
    CASE WHEN TRY_CAST(v AS DOUBLE) = 0 THEN '0.0'
         ELSE coalesce(CAST(TRY_CAST(v AS DOUBLE) AS VARCHAR), v) END;
