-- Who saved each version of a map (an audit trail for edits). Versions saved before this
-- column existed, and saves with no known author, keep NULL.

ALTER TABLE maps ADD COLUMN saved_by TEXT;
