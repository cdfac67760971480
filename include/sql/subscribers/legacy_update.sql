-- Replace an existing subscriber's fields (never by another unique key: no ON DUPLICATE KEY,
-- which would overwrite whichever row holds the same msisdn or imsi).
UPDATE subscribers
   SET msisdn = %(msisdn)s, imsi = %(imsi)s, status = %(status)s, plan_id = %(plan_id)s, email = %(email)s,
       first_name = %(first_name)s, last_name = %(last_name)s, address = %(address)s,
       date_of_birth = %(date_of_birth)s, created_at = %(created_at)s, updated_at = %(updated_at)s
 WHERE uid = %(uid)s
