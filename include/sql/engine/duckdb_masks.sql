-- PII masks in DuckDB, the SQL twins of engine/masking.py's mask_msisdn / mask_imsi / mask_email,
-- so a full difference file is masked while DuckDB streams it out (no Python per row).
CREATE OR REPLACE MACRO recon_mask_msisdn(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN length(regexp_replace(v, '[^0-9]', '', 'g')) < 8 THEN '*******'
         ELSE (CASE WHEN starts_with(trim(v), '+') THEN '+' ELSE '' END)
              || left(regexp_replace(v, '[^0-9]', '', 'g'), least(5, length(regexp_replace(v, '[^0-9]', '', 'g')) - 6))
              || '*******' || right(regexp_replace(v, '[^0-9]', '', 'g'), 2) END;
CREATE OR REPLACE MACRO recon_mask_imsi(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN length(regexp_replace(v, '[^0-9]', '', 'g')) < 10 THEN '*******'
         ELSE left(regexp_replace(v, '[^0-9]', '', 'g'), 5) || '*******' || right(regexp_replace(v, '[^0-9]', '', 'g'), 2) END;
CREATE OR REPLACE MACRO recon_mask_email(v) AS
    CASE WHEN v IS NULL THEN NULL
         WHEN NOT contains(trim(v), '@') OR starts_with(trim(v), '@') OR ends_with(trim(v), '@') THEN '***'
         ELSE left(trim(v), 1) || '***@' || split_part(trim(v), '@', -1) END;
