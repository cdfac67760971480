-- Built-in loaders: the indexes one stage table already has in the connection's database (none
-- when the table is missing). Read from the catalog so the check never waits on a loading batch.
SELECT DISTINCT index_name
  FROM information_schema.statistics
 WHERE table_schema = DATABASE()
   AND table_name = %(table)s;
