-- Builds (CI pipeline runs) and milestones (named points on a change or an incident), the
-- fourth and fifth record kinds. Keyed by (source, id) like the others; a milestone's id is
-- derived from its content (item, name and time), so re-importing one changes nothing and
-- recording the same milestone at another time adds a row (the earliest counts).

CREATE TABLE builds (
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    commit_sha  TEXT,
    changes     TEXT,   -- JSON array of change ids; NULL when the build lists none
    name        TEXT,
    revision    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX builds_by_service_time ON builds (service, finished_at);

CREATE TABLE milestones (
    source   TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    item     TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    service  TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX milestones_by_service_time ON milestones (service, at);

-- Raw input can now stand behind a build or a milestone too. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with its rows.
CREATE TABLE raw_inputs_new (
    source      TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('deployment', 'change', 'incident', 'build', 'milestone')),
    record_id   TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (source, kind, record_id, digest)
);
INSERT INTO raw_inputs_new SELECT source, kind, record_id, digest, received_at, body FROM raw_inputs;
DROP TABLE raw_inputs;
ALTER TABLE raw_inputs_new RENAME TO raw_inputs;
