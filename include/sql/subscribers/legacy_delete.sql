-- Hard delete of one subscriber (the audit_log trigger records it).
DELETE FROM subscribers WHERE uid = %(uid)s
