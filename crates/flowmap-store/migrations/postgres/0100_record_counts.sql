-- How many records each listed table holds, kept by every write in its own transaction, so
-- that a list's total needs no count of the whole table (PostgreSQL counts by reading the
-- table: 50–70 ms for a million changes). `known` is 0 after a write that could not tell
-- its inserts from its updates (a bulk write); the next read counts the table again.
CREATE TABLE record_counts (
    name    TEXT   NOT NULL PRIMARY KEY,
    records BIGINT NOT NULL,
    known   BIGINT NOT NULL
);
INSERT INTO record_counts (name, records, known)
SELECT 'deployments', COUNT(*), 1 FROM deployments
UNION ALL SELECT 'changes', COUNT(*), 1 FROM changes
UNION ALL SELECT 'incidents', COUNT(*), 1 FROM incidents;
