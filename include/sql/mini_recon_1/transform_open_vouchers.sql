-- Mini Recon 1: open vouchers of one batch in the transformation, per voucher type, with their
-- loyalty points. {table} is "<schema>"."vouchers".
SELECT voucher_type, count(*)::bigint AS n, coalesce(sum(points), 0)::bigint AS points
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s
   AND voucher_status = 'OPEN'
 GROUP BY 1;
