-- A new subscriber (a uid already present is an error: the caller read it and chose INSERT).
INSERT INTO subscribers (uid, msisdn, imsi, status, plan_id, email, first_name, last_name, address,
                         date_of_birth, created_at, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
