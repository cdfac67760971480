-- Legacy (MariaDB/MySQL) subscriber schema: the Cloud item's fields as columns, the indexes the
-- Cloud side has as GSIs (status, plan_id) plus msisdn and imsi, constraints that keep bad
-- values out whoever writes, and an audit_log written by triggers on every change, so manual
-- edits are audited too. A job's writes carry its id in the session variable @recon_job_id.
-- The audit_log records which fields changed, not their values (the values are PII).
-- Applied once per job before any chunk loads (never inside a chunk's transaction); every
-- statement is idempotent. Statements are separated by a line holding only ';'.
CREATE TABLE IF NOT EXISTS subscribers (
    uid           VARCHAR(64)  NOT NULL,
    msisdn        VARCHAR(16)  NOT NULL,
    imsi          CHAR(15)     NOT NULL,
    status        VARCHAR(16)  NOT NULL,
    plan_id       VARCHAR(64)  NULL,
    email         VARCHAR(254) NULL,
    first_name    VARCHAR(100) NULL,
    last_name     VARCHAR(100) NULL,
    address       VARCHAR(500) NULL,
    date_of_birth DATE         NULL,
    created_at    DATETIME(3)  NOT NULL,
    updated_at    DATETIME(3)  NOT NULL,
    PRIMARY KEY (uid),
    UNIQUE KEY subscribers_msisdn (msisdn),
    UNIQUE KEY subscribers_imsi (imsi),
    KEY subscribers_status (status),
    KEY subscribers_plan_id (plan_id),
    CONSTRAINT subscribers_status_check CHECK (status IN ('ACTIVE', 'INACTIVE', 'SUSPENDED', 'DELETED')),
    CONSTRAINT subscribers_msisdn_check CHECK (msisdn REGEXP '^[+][1-9][0-9]{7,14}$'),
    CONSTRAINT subscribers_imsi_check CHECK (imsi REGEXP '^[0-9]{15}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TABLE IF NOT EXISTS audit_log (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    uid            VARCHAR(64)  NOT NULL,
    action         VARCHAR(8)   NOT NULL,
    changed_fields VARCHAR(255) NULL,
    job_id         CHAR(36)     NULL,
    db_user        VARCHAR(128) NOT NULL,
    changed_at     DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY audit_log_uid (uid),
    KEY audit_log_job (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
;
CREATE TRIGGER IF NOT EXISTS subscribers_audit_insert AFTER INSERT ON subscribers FOR EACH ROW
    INSERT INTO audit_log (uid, action, changed_fields, job_id, db_user)
    VALUES (NEW.uid, 'INSERT', NULL, @recon_job_id, CURRENT_USER())
;
CREATE TRIGGER IF NOT EXISTS subscribers_audit_update AFTER UPDATE ON subscribers FOR EACH ROW
    INSERT INTO audit_log (uid, action, changed_fields, job_id, db_user)
    SELECT NEW.uid, 'UPDATE',
           CONCAT_WS(',', IF(NEW.uid <=> OLD.uid, NULL, 'uid'), IF(NEW.msisdn <=> OLD.msisdn, NULL, 'msisdn'),
                     IF(NEW.imsi <=> OLD.imsi, NULL, 'imsi'), IF(NEW.status <=> OLD.status, NULL, 'status'),
                     IF(NEW.plan_id <=> OLD.plan_id, NULL, 'plan_id'), IF(NEW.email <=> OLD.email, NULL, 'email'),
                     IF(NEW.first_name <=> OLD.first_name, NULL, 'first_name'),
                     IF(NEW.last_name <=> OLD.last_name, NULL, 'last_name'),
                     IF(NEW.address <=> OLD.address, NULL, 'address'),
                     IF(NEW.date_of_birth <=> OLD.date_of_birth, NULL, 'date_of_birth'),
                     IF(NEW.created_at <=> OLD.created_at, NULL, 'created_at'),
                     IF(NEW.updated_at <=> OLD.updated_at, NULL, 'updated_at')),
           @recon_job_id, CURRENT_USER()
      FROM DUAL
     WHERE NOT (NEW.uid <=> OLD.uid AND NEW.msisdn <=> OLD.msisdn AND NEW.imsi <=> OLD.imsi
                AND NEW.status <=> OLD.status AND NEW.plan_id <=> OLD.plan_id AND NEW.email <=> OLD.email
                AND NEW.first_name <=> OLD.first_name AND NEW.last_name <=> OLD.last_name
                AND NEW.address <=> OLD.address AND NEW.date_of_birth <=> OLD.date_of_birth
                AND NEW.created_at <=> OLD.created_at AND NEW.updated_at <=> OLD.updated_at)
;
CREATE TRIGGER IF NOT EXISTS subscribers_audit_delete AFTER DELETE ON subscribers FOR EACH ROW
    INSERT INTO audit_log (uid, action, changed_fields, job_id, db_user)
    VALUES (OLD.uid, 'DELETE', NULL, @recon_job_id, CURRENT_USER())
