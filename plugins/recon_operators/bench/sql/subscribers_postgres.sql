-- Postgres side of the benchmark (CHAR(8) plan codes: padded on disk, not a difference).
CREATE TABLE subscribers (
    msisdn        varchar(20) NOT NULL,
    imsi          varchar(20),
    subscriber_id bigint,
    first_name    varchar(40),
    email         varchar(80),
    status        varchar(12),
    plan_code     char(8),
    balance       numeric(14, 2),
    data_mb       integer,
    activated_at  timestamp,
    last_topup    date,
    region        varchar(20),
    is_postpaid   smallint,
    score         double precision,
    updated_at    timestamp(6),
    is_migratable boolean,
    profile       jsonb
);
