-- Legacy's subscribers as the audit compares them with Cloud: timestamps written as Cloud holds
-- them (ISO 8601 UTC with milliseconds and Z), so equal instants compare equal to the millisecond.
-- (The row diff's own timestamp handling compares to the second today; this keeps the audit exact.)
SELECT uid, msisdn, imsi, status, plan_id, email, first_name, last_name, address, date_of_birth,
       CONCAT(DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(created_at) / 1000), 3, '0'), 'Z')
           AS created_at,
       CONCAT(DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(updated_at) / 1000), 3, '0'), 'Z')
           AS updated_at
  FROM subscribers
