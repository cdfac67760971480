-- The current rows of a set of uids (uids: a tuple the driver expands to a list).
SELECT uid, msisdn, imsi, status, plan_id, email, first_name, last_name, address, date_of_birth,
       created_at, updated_at
  FROM subscribers
 WHERE uid IN %(uids)s
