-- Builds (CI pipeline runs) and milestones (named points on a change or an incident), the
-- fourth and fifth record kinds. Keyed by (source, id) like the others; a milestone's id is
-- derived from its content (item, name and time), so re-importing one changes nothing and
-- recording the same milestone at another time adds a row (the earliest counts).

CREATE TABLE builds (
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('success', 'failure')),
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    commit_sha  TEXT,
    changes     TEXT,   -- JSON array of change ids; NULL when the build lists none
    name        TEXT,
    revision    BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX builds_by_service_time ON builds (service, finished_at);

CREATE TABLE milestones (
    source   TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    item     TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    at       BIGINT NOT NULL,
    service  TEXT,
    revision BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (source, id)
);
CREATE INDEX milestones_by_service_time ON milestones (service, at);

-- Raw input can now stand behind a build or a milestone too.
ALTER TABLE raw_inputs DROP CONSTRAINT raw_inputs_kind_check;
ALTER TABLE raw_inputs ADD CONSTRAINT raw_inputs_kind_check
    CHECK (kind IN ('deployment', 'change', 'incident', 'build', 'milestone'));
