-- Delivery records (SPEC §4). Every record is keyed by (source, id) within its kind's table,
-- so re-importing a record updates it in place. Times are UTC epoch milliseconds.
-- `revision` starts at 1 and grows by one with every write that really changed the row;
-- writers read it back to tell inserted from updated rows.

CREATE TABLE deployments (
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
    started_at  INTEGER,
    finished_at INTEGER NOT NULL,
    commit_sha  TEXT,
    changes     TEXT,   -- JSON array of change ids; NULL when the deployment lists none
    kind        TEXT    NOT NULL CHECK (kind IN ('normal', 'hotfix', 'rollback')),
    fixes       TEXT,
    revision    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX deployments_by_service_time ON deployments (service, finished_at);

CREATE TABLE changes (
    source          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    committed_at    INTEGER NOT NULL,
    authored_at     INTEGER,
    first_commit_at INTEGER,
    pr_opened_at    INTEGER,
    first_review_at INTEGER,
    approved_at     INTEGER,
    merged_at       INTEGER,
    deployment      TEXT,
    author          TEXT,
    title           TEXT,
    reverts         TEXT,
    revision        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX changes_by_service_time ON changes (service, committed_at);

CREATE TABLE incidents (
    source          TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    detected_at     INTEGER,
    acknowledged_at INTEGER,
    resolved_at     INTEGER,
    caused_by       TEXT,
    severity        TEXT,
    title           TEXT,
    revision        INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX incidents_by_service_time ON incidents (service, started_at);

-- The untouched input behind records that came from webhooks or CDEvents, kept for audit.
-- One row per distinct body (digest = hex SHA-256 of body), so redelivery adds nothing.
CREATE TABLE raw_inputs (
    source      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('deployment', 'change', 'incident')),
    record_id   TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (source, kind, record_id, digest)
);

-- Small key-value memory for incremental ingesters (e.g. the last commit read from a repository).
CREATE TABLE ingest_state (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
