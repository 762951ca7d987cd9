-- One counter for the delivery data as a whole: every committed write of records
-- (deployments, changes, incidents, builds, milestones; imports, webhooks, ingests and
-- deletions alike) adds one in the same transaction. Anything computed from the records can
-- be kept as long as the counter it was computed under is still the current one; every
-- process sharing the database sees the same counter, so caches in several server
-- processes invalidate together.

CREATE TABLE data_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 1);

-- The API's lists page newest first by (time, source, id), after a cursor: these indexes
-- answer a page at any depth with one range scan, with or without a service. Text is
-- ordered byte-wise (COLLATE "C"), as SQLite orders it, so both backends page alike.
DROP INDEX deployments_by_service_time;
CREATE INDEX deployments_by_service_time
    ON deployments (service, finished_at, source COLLATE "C", id COLLATE "C");
CREATE INDEX deployments_by_time ON deployments (finished_at, source COLLATE "C", id COLLATE "C");
DROP INDEX changes_by_service_time;
CREATE INDEX changes_by_service_time
    ON changes (service, committed_at, source COLLATE "C", id COLLATE "C");
CREATE INDEX changes_by_time ON changes (committed_at, source COLLATE "C", id COLLATE "C");
DROP INDEX incidents_by_service_time;
CREATE INDEX incidents_by_service_time
    ON incidents (service, started_at, source COLLATE "C", id COLLATE "C");
CREATE INDEX incidents_by_time ON incidents (started_at, source COLLATE "C", id COLLATE "C");
