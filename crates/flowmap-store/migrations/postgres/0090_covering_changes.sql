-- A report reads a change's id, service, commit time and deployment, service by service.
-- The deployment is carried in the `(service, time)` index (as on SQLite), so that read
-- can be answered from the index alone. The key columns are unchanged, so the lists that
-- page by it are too.
DROP INDEX changes_by_service_time;
CREATE INDEX changes_by_service_time
    ON changes (service, committed_at, source COLLATE "C", id COLLATE "C") INCLUDE (deployment);
