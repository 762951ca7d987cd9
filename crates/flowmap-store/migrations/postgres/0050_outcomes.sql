-- Outcomes kept by the server: every save is a new version with its date and author, so
-- the history of what a team aimed for is never lost; the latest version is the outcome.
-- `text` is the outcome file exactly as saved, in `format` (yaml, toml or json).

CREATE TABLE outcomes (
    id       TEXT    NOT NULL,
    version  BIGINT  NOT NULL,
    saved_at BIGINT  NOT NULL,
    format   TEXT    NOT NULL CHECK (format IN ('yaml', 'toml', 'json')),
    text     TEXT    NOT NULL,
    saved_by TEXT,
    PRIMARY KEY (id, version)
);
