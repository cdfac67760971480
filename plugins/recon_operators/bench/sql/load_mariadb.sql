-- Bulk load of a benchmark CSV into MariaDB (client-side file, header line skipped).
LOAD DATA LOCAL INFILE %(path)s INTO TABLE subscribers CHARACTER SET utf8mb4
FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' IGNORE 1 LINES
