-- Mini Recon 3 prefix summary (data prep or BRM): roll one prefix's batch rows of {detail} up
-- into one prefix-level row of {summary} (batch_id NULL). Placeholders are fixed pairs chosen
-- by recon_operators.migration.mr3_reports: {check} names a check (the table, or the BRM file),
-- {src} / {trgt} the upstream and downstream counts, {sums_differ} a predicate over the
-- check's summed totals (false when the table has none).
-- Parameters: run_id, env, cohort_id, prefix_id, prefix.
--
-- Decisions:
--   * A check fails when any of its batch rows Failed (a loss in one batch and a surplus in
--     another must not cancel out) or when its prefix totals differ.
--   * match_percent over the summed counts, as Mini Recon 1: 100.00 when both are 0, 0.00 when
--     either is 0, else trunc(trgt * 100 / src, 2) computed in integer arithmetic (2/3 -> 66.66).
--   * status_match is Match only when no check failed and the summed counts are equal.
--   * Empty prefix (no batch rows): zero checks, 100.00, Match, as "0 and 0" reads elsewhere.
--   * failed_subsets lists the failed checks sorted by code point.
-- Idempotent per prefix: the lock serialises summaries of one prefix, the delete removes its
-- previous prefix-level row only, and the caller runs everything in one transaction.
SELECT pg_advisory_xact_lock(hashtextextended(
    concat_ws('|', '{summary}', %(env)s::text, %(cohort_id)s::text, %(prefix_id)s::text, %(prefix)s::text), 0));

DELETE FROM {summary}
 WHERE env = %(env)s AND cohort_id = %(cohort_id)s AND prefix_id = %(prefix_id)s AND prefix = %(prefix)s
   AND batch_id IS NULL;

WITH per_check AS (
    SELECT {check} AS check_name,
           sum({src})::bigint AS src,
           sum({trgt})::bigint AS trgt,
           bool_or(status = 'Failed') OR sum({src}) <> sum({trgt}) OR {sums_differ} AS failed
      FROM {detail}
     WHERE env = %(env)s AND cohort_id = %(cohort_id)s AND prefix_id = %(prefix_id)s AND prefix = %(prefix)s
       AND batch_id IS NOT NULL
     GROUP BY {check}
),
totals AS (
    SELECT count(*)::integer AS total_checks,
           (count(*) FILTER (WHERE failed))::integer AS failed_checks,
           coalesce(sum(src), 0)::bigint AS src,
           coalesce(sum(trgt), 0)::bigint AS trgt,
           coalesce(array_agg(check_name ORDER BY check_name COLLATE "C") FILTER (WHERE failed), '{}'::text[])
               AS failed_subsets
      FROM per_check
)
INSERT INTO {summary}
    (run_id, env, cohort_id, prefix_id, prefix, batch_id, msisdn_start, msisdn_end, total_checks,
     failed_checks, match_percent, status_match, failed_subsets)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, NULL, NULL, NULL, t.total_checks,
       t.failed_checks,
       CASE WHEN t.src = 0 AND t.trgt = 0 THEN 100.00
            WHEN t.src = 0 OR t.trgt = 0 THEN 0.00
            ELSE div(t.trgt * 10000::numeric, t.src) / 100
       END,
       CASE WHEN t.failed_checks = 0 AND t.src = t.trgt THEN 'Match' ELSE 'Mismatch' END,
       t.failed_subsets
  FROM totals t
RETURNING total_checks, failed_checks, match_percent, status_match, failed_subsets;
