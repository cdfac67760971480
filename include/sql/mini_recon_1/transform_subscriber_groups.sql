-- Mini Recon 1: transformation subscribers of one batch, counted per
-- (subscriber_status, source_system, migratable, non_migratable_reason).
-- <table> is the validated, quoted "<schema>"."subscribers". The batch is the MSISDN block
-- (text compare is numeric only at equal length, hence the length term) within the cohort.
-- The groups are few (statuses x systems x reasons); the Python side rolls them up per measure.
SELECT subscriber_status, source_system, migratable, non_migratable_reason, count(*)::bigint AS n
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s
   AND cohort_id = %(cohort_id)s
 GROUP BY subscriber_status, source_system, migratable, non_migratable_reason;
