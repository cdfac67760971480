-- A new subscriber (a uid already present is an error: the caller read it and chose INSERT).
INSERT INTO subscribers (uid, msisdn, imsi, status, plan_id, email, first_name, last_name, address,
                         date_of_birth, created_at, updated_at)
VALUES (%(uid)s, %(msisdn)s, %(imsi)s, %(status)s, %(plan_id)s, %(email)s, %(first_name)s, %(last_name)s,
        %(address)s, %(date_of_birth)s, %(created_at)s, %(updated_at)s)
