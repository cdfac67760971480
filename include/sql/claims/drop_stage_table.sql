-- Remove a run's stage table once its metrics are written (unless the config keeps them).
DROP TABLE IF EXISTS {table}
