-- The Legacy subscriber database of the subscriber jobs (docs/subscriber-jobs.md): run once by the
-- MariaDB image when its data volume is first created. Its tables, audit_log and triggers are
-- created by the jobs themselves (include/sql/subscribers/legacy_schema.sql).
CREATE DATABASE IF NOT EXISTS legacy CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
GRANT ALL PRIVILEGES ON legacy.* TO 'stage'@'%';
