-- Mini Recon 1: transformation balances of one batch. <table> is "<schema>"."balances".
-- pulsa_sum: exact numeric total (NULL balances ignored, 0 when none); ucoin holders are rows
-- with ucoin_balance > 0 and ucoin_sum their total.
SELECT coalesce(sum(pulsa_balance), 0)                          AS pulsa_sum,
       count(*) FILTER (WHERE ucoin_balance > 0)::bigint         AS ucoin_holders,
       coalesce(sum(ucoin_balance) FILTER (WHERE ucoin_balance > 0), 0)::bigint AS ucoin_sum
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s;
