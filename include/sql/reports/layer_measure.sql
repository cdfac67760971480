-- One side of a report measure, pushed down to Postgres or MariaDB: rows (or distinct values)
-- and an optional total for one batch, optionally per group. Only one row per group travels.
-- The Python side (recon_operators.migration.layer_measure) fills the {...} slots (recon_operators.sql_templates) with
-- validated, quoted identifiers and fixed SQL fragments; every value is a bound parameter.
--   {group}      the group column, or NULL when the measure is not grouped
--   {count}      COUNT(*) or COUNT(DISTINCT <column>)
--   {total}      SUM(<column>), or NULL when the measure has no total
--   {relation}   the table
--   {msisdn}     the MSISDN column the batch range applies to
--   {conditions} more AND terms: cohort, configured filters, the app-login rule
--   {group_by}   GROUP BY <group column>, or nothing
-- CHAR_LENGTH exists in both dialects: text comparison is numeric only at equal length.
SELECT {group} AS group_value,
       {count} AS measured_count,
       {total} AS measured_total
  FROM {relation}
 WHERE {msisdn} BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND CHAR_LENGTH({msisdn}) = %(msisdn_width)s
   {conditions}
 {group_by}
