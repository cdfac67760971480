-- Mini Recon 1: app-login eligible users of one batch in the transformation layer.
-- <table> is "<schema>"."app_users"; <eligible> is the shared rule from
-- include/sql/rules/app_login_eligible_postgres.sql over sso_connections (never NULL).
SELECT count(*) FILTER (WHERE {eligible})::bigint AS eligible
  FROM {table}
 WHERE msisdn BETWEEN %(msisdn_start)s AND %(msisdn_end)s
   AND length(msisdn) = %(width)s;
