-- Progress of API backfills (GitHub, GitLab, PagerDuty), kept so that an interrupted run
-- resumes where it stopped and a later run reads only what changed.
--
-- sync_cursors: one row per (source, resource), e.g. ('github:acme/shop', 'pulls'); the
-- value is the backfill's own JSON (next page, high-water marks, last sync time).
-- sync_etags: the ETag of each page fetched, with the part of the page the backfill
-- needs, so that a 304 Not Modified answer can be used without fetching the page again.
-- Neither ever holds a token: requests carry them in headers, never in URLs.

CREATE TABLE sync_cursors (
    source     TEXT   NOT NULL,
    resource   TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, resource)
);

CREATE TABLE sync_etags (
    source  TEXT NOT NULL,
    url     TEXT NOT NULL,
    etag    TEXT NOT NULL,
    extract TEXT NOT NULL,
    PRIMARY KEY (source, url)
);
