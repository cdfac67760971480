-- Bulk load of a benchmark CSV into Postgres (streamed from the client with COPY).
COPY subscribers FROM STDIN WITH (FORMAT csv, HEADER true)
