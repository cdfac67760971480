-- MariaDB side of the benchmark: the same columns in the types a migration uses (DATETIME(6) for
-- timestamps, TINYINT(1) for booleans, JSON for jsonb, DECIMAL, DOUBLE).
CREATE TABLE subscribers (
    msisdn        VARCHAR(20) NOT NULL,
    imsi          VARCHAR(20),
    subscriber_id BIGINT,
    first_name    VARCHAR(40),
    email         VARCHAR(80),
    status        VARCHAR(12),
    plan_code     CHAR(8),
    balance       DECIMAL(14, 2),
    data_mb       INT,
    activated_at  DATETIME(6),
    last_topup    DATE,
    region        VARCHAR(20),
    is_postpaid   SMALLINT,
    score         DOUBLE,
    updated_at    DATETIME(6),
    is_migratable TINYINT(1),
    profile       JSON
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
