-- Built-in loaders: the next transaction (one batch's DELETE + INSERTs on the stage tables) runs
-- READ COMMITTED. Under MariaDB's default REPEATABLE READ a range DELETE also locks the gaps
-- around its range, so batches next to each other blocked each other's INSERTs and deadlocked
-- (1213). READ COMMITTED locks only the rows the DELETE removes. Needs binlog_format ROW or
-- MIXED (MariaDB's default) when binary logging is on.
SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
