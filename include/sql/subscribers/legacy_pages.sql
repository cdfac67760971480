-- Every subscriber, or those with a status and/or plan (NULL: no filter), streamed in uid order.
SELECT uid, msisdn, imsi, status, plan_id, email, first_name, last_name, address, date_of_birth,
       created_at, updated_at
  FROM subscribers
 WHERE (%(status)s IS NULL OR status = %(status)s)
   AND (%(plan_id)s IS NULL OR plan_id = %(plan_id)s)
 ORDER BY uid
