-- Replace an existing subscriber's fields (never by another unique key: no ON DUPLICATE KEY,
-- which would overwrite whichever row holds the same msisdn or imsi).
UPDATE subscribers
   SET msisdn = %s, imsi = %s, status = %s, plan_id = %s, email = %s, first_name = %s, last_name = %s,
       address = %s, date_of_birth = %s, created_at = %s, updated_at = %s
 WHERE uid = %s
