-- Value stream maps kept by the server (SPEC §3, §8). Every save is a new version, so a
-- map's history is never lost; the latest version is the map. `text` is the map file
-- exactly as saved, in `format` (yaml, toml or json).

CREATE TABLE maps (
    id       TEXT    NOT NULL,
    version  BIGINT  NOT NULL,
    saved_at BIGINT  NOT NULL,
    format   TEXT    NOT NULL CHECK (format IN ('yaml', 'toml', 'json')),
    text     TEXT    NOT NULL,
    PRIMARY KEY (id, version)
);
