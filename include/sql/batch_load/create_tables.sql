-- Staging, reject and final tables of one batch job, in the job's target database (created when
-- absent). The braced names are identifiers from the validated job config, quoted by psycopg2.sql.
-- Staging rows carry the run and the worker that wrote them; a rerun of the same run and worker
-- replaces exactly those rows. The final table is keyed by the job's key fields and stamped
-- with the run that last upserted each row.
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE IF NOT EXISTS {staging} (
    run_id     text   NOT NULL,
    worker_id  text   NOT NULL,
    line_no    bigint NOT NULL,
    {field_columns},
    PRIMARY KEY (run_id, line_no)
);

CREATE TABLE IF NOT EXISTS {rejects} (
    run_id     text   NOT NULL,
    worker_id  text   NOT NULL,
    line_no    bigint NOT NULL,
    reason     text   NOT NULL,
    record     text,
    PRIMARY KEY (run_id, line_no)
);

CREATE TABLE IF NOT EXISTS {final} (
    {field_columns},
    last_run_id text NOT NULL,
    PRIMARY KEY ({key_columns})
);
CREATE INDEX IF NOT EXISTS {final_run_index} ON {final} (last_run_id);
