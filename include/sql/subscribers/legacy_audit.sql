-- Legacy's subscribers under the Cloud item's attribute names, so the row diff pairs each
-- column with its Cloud attribute; the types (DATETIME(3), DATE, CHAR) stay Legacy's own and the
-- engine compares each pair in its canonical form.
SELECT uid, msisdn, imsi, status, plan_id AS planId, email, first_name AS firstName, last_name AS lastName,
       address, date_of_birth AS dateOfBirth, created_at AS createdAt, updated_at AS updatedAt
  FROM subscribers
