-- Webhook deliveries as received, accepted or rejected, for idempotence and inspection.
-- (source, delivery_id) is unique: a redelivery finds its row and changes nothing. A
-- rejected delivery may be delivered again and is then processed afresh.

CREATE TABLE webhook_deliveries (
    source      TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('accepted', 'rejected')),
    note        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    PRIMARY KEY (source, delivery_id)
);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (received_at);

-- Pushes to a repository's default branch, in arrival order (seq). A deployment of
-- commit X ships the commits of every push up to the one whose head is X that no earlier
-- deployment shipped; `deployment` marks which deployment took them.

CREATE TABLE webhook_pushes (
    seq        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source     TEXT    NOT NULL,
    service    TEXT    NOT NULL,
    head       TEXT    NOT NULL,
    commits    TEXT    NOT NULL, -- JSON array of commit shas, oldest first
    deployment TEXT,
    UNIQUE (source, service, head)
);
