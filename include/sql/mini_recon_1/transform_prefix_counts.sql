-- Mini Recon 1: transformation subscribers of one batch per number prefix (the first
-- prefix_width digits). {table} is "<schema>"."subscribers".
SELECT left(msisdn, %(prefix_width)s) AS msisdn_prefix, count(*)::bigint AS n
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s
   AND cohort_id = %(cohort_id)s
 GROUP BY 1;
