-- Mini Recon 1 prefix summary: roll one prefix's batch rows up into
-- mini_recon_1.tbl_recon_report_prefix_summary, one row per subscriber_status.
-- Parameters: run_id (the summary run), env, cohort_id, prefix_id, prefix.
-- Idempotent per prefix: the lock serialises concurrent summaries of the same prefix, the delete
-- removes that prefix's previous summary rows (other prefixes untouched) and the insert writes
-- the new ones; the caller runs all three in one transaction (psycopg2 executes them in one
-- call and returns the insert's rows).
--
-- Decisions on the edge cases:
--   * migratable = src_count - non_migratable_count, summed over the prefix's batches (and the
--     subsets / source systems of each status). A NULL non_migratable_count counts as 0.
--   * match_percent: 100.00 when migratable and trgt_count are both 0; 0.00 when either is 0;
--     else trgt_count * 100 / migratable truncated (never rounded) to 2 places, computed with
--     integer division so 2/3 gives 66.66 exactly. It may exceed 100 when the target has more.
--   * non_migratable_count larger than src_count (migratable < 0) is impossible data: the row
--     is a Mismatch and match_percent is 0.00, rather than a negative percentage nobody can read.
--   * A NULL src_count or trgt_count in any batch row means a count was never taken: that
--     status is a Mismatch with a NULL match_percent, never a silent pass.
--   * Empty prefix (no subscriber-status rows): one row with subscriber_status NULL and zero
--     counts, hence 100.00 / Match, as "0 and 0" reads everywhere else.
--   * migratable_count_status: a subset passes when every count is present and
--     SUM(source_system_count) = SUM(target_transform_count) over the prefix; the prefix is a
--     Match when all subsets pass (also when it has none), else a Mismatch, and failed_subsets
--     lists the failed subsets sorted by code point. Every summary row of the prefix carries it.
SELECT pg_advisory_xact_lock(hashtextextended(
    concat_ws('|', 'mini_recon_1.prefix_summary', %(env)s::text, %(cohort_id)s::text,
              %(prefix_id)s::text, %(prefix)s::text), 0));

DELETE FROM mini_recon_1.tbl_recon_report_prefix_summary
 WHERE env = %(env)s
   AND cohort_id = %(cohort_id)s
   AND prefix_id = %(prefix_id)s
   AND prefix = %(prefix)s;

WITH batch_rows AS (
    SELECT subscriber_status, src_count, non_migratable_count, trgt_count
      FROM mini_recon_1.tbl_migratable_subscriber_status
     WHERE env = %(env)s
       AND cohort_id = %(cohort_id)s
       AND prefix_id = %(prefix_id)s
       AND prefix = %(prefix)s
),
per_status AS (
    SELECT subscriber_status,
           sum(src_count)::bigint                         AS src_count,
           coalesce(sum(non_migratable_count), 0)::bigint AS non_migratable_count,
           sum(trgt_count)::bigint                        AS trgt_count,
           bool_or(src_count IS NULL OR trgt_count IS NULL) AS count_missing
      FROM batch_rows
     GROUP BY subscriber_status
    UNION ALL
    SELECT NULL, 0, 0, 0, false
     WHERE NOT EXISTS (SELECT 1 FROM batch_rows)
),
scored AS (
    SELECT p.*, p.src_count - p.non_migratable_count AS migratable
      FROM per_status p
),
subset_rollup AS (
    SELECT subset,
           bool_and(source_system_count IS NOT NULL AND target_transform_count IS NOT NULL)
               AND sum(source_system_count) = sum(target_transform_count) AS passed
      FROM mini_recon_1.tbl_migratable_msisdn_count
     WHERE env = %(env)s
       AND cohort_id = %(cohort_id)s
       AND prefix_id = %(prefix_id)s
       AND prefix = %(prefix)s
     GROUP BY subset
),
prefix_rollup AS (
    SELECT coalesce(array_agg(subset ORDER BY subset COLLATE "C") FILTER (WHERE NOT passed),
                    '{}'::text[]) AS failed_subsets
      FROM subset_rollup
)
INSERT INTO mini_recon_1.tbl_recon_report_prefix_summary
    (run_id, env, cohort_id, prefix_id, prefix, subscriber_status, src_count,
     non_migratable_count, trgt_count, match_percent, status_match, migratable_count_status,
     failed_subsets)
SELECT %(run_id)s, %(env)s, %(cohort_id)s, %(prefix_id)s, %(prefix)s, s.subscriber_status,
       s.src_count, s.non_migratable_count, s.trgt_count,
       CASE WHEN s.count_missing THEN NULL
            WHEN s.migratable = 0 AND s.trgt_count = 0 THEN 100.00
            WHEN s.migratable <= 0 OR s.trgt_count = 0 THEN 0.00
            ELSE div(s.trgt_count * 10000::numeric, s.migratable) / 100
       END,
       CASE WHEN NOT s.count_missing AND s.migratable >= 0 AND s.migratable = s.trgt_count
            THEN 'Match' ELSE 'Mismatch'
       END,
       CASE WHEN cardinality(r.failed_subsets) = 0 THEN 'Match' ELSE 'Mismatch' END,
       r.failed_subsets
  FROM scored s
 CROSS JOIN prefix_rollup r
RETURNING id, run_id, env, cohort_id, prefix_id, prefix, subscriber_status, src_count,
          non_migratable_count, trgt_count, match_percent, status_match,
          migratable_count_status, failed_subsets;
