-- Built-in loaders: the indexes one layer table already has (none when the table is missing).
-- A catalog read takes no lock on the table, so checking never waits for, or blocks, a batch
-- that is loading; DDL runs only for what this returns as missing (recon_operators.demo.layer_tables).
SELECT indexname
  FROM pg_indexes
 WHERE schemaname = %(schema)s
   AND tablename = %(table)s;
