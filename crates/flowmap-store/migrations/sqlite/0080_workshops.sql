-- Live workshops (outcome mapping and mapping together). Every change to a workshop adds
-- one row to workshop_events and raises workshops.version to that event's number in the
-- same transaction, so a server (or any replica on the same database) that has seen
-- version N sends exactly the events after N: nothing lost, nothing twice, across restarts.
-- Keys are stored only as their SHA-256; the join code is kept to show the join link.

CREATE TABLE workshops (
    id              TEXT    PRIMARY KEY,
    title           TEXT    NOT NULL,
    mandate         TEXT    NOT NULL,
    stream          TEXT    NOT NULL,
    join_code       TEXT    NOT NULL,
    facilitator_key TEXT    NOT NULL UNIQUE,
    created_by      TEXT    NOT NULL,
    created_at      INTEGER  NOT NULL,
    dots            INTEGER  NOT NULL,
    phase           TEXT    NOT NULL,
    countdown_ends  INTEGER,
    outcome_format  TEXT,
    outcome_text    TEXT,
    map_format      TEXT,
    map_text        TEXT,
    closed_at       INTEGER,
    outcome_id      TEXT,
    outcome_version INTEGER,
    map_id          TEXT,
    map_version     INTEGER,
    version         INTEGER  NOT NULL
);

CREATE TABLE workshop_participants (
    workshop_id TEXT    NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    id          INTEGER  NOT NULL,
    name        TEXT    NOT NULL,
    key_digest  TEXT    NOT NULL UNIQUE,
    joined_at   INTEGER  NOT NULL,
    PRIMARY KEY (workshop_id, id)
);

CREATE TABLE workshop_notes (
    workshop_id TEXT    NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    id          INTEGER  NOT NULL,
    author      INTEGER,
    text        TEXT    NOT NULL,
    category    TEXT,
    created_at  INTEGER  NOT NULL,
    PRIMARY KEY (workshop_id, id)
);

CREATE TABLE workshop_votes (
    workshop_id TEXT    NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    participant INTEGER  NOT NULL,
    category    TEXT    NOT NULL,
    dots        INTEGER  NOT NULL,
    PRIMARY KEY (workshop_id, participant, category)
);

CREATE TABLE workshop_events (
    workshop_id TEXT    NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
    seq         INTEGER  NOT NULL,
    at          INTEGER  NOT NULL,
    kind        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    PRIMARY KEY (workshop_id, seq)
);
