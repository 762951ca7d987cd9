-- Access control: API tokens (only their SHA-256 is kept), browser sessions made from a
-- token, and the audit log of who changed what.

CREATE TABLE api_tokens (
    name         TEXT    NOT NULL PRIMARY KEY,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    token_sha256 TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    created_by   TEXT    NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE sessions (
    id_sha256  TEXT    NOT NULL PRIMARY KEY,
    token_name TEXT    NOT NULL,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    outcome TEXT    NOT NULL
);
