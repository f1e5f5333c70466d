-- +goose Up
-- What the supervision of releases saw, for every replica to show: the
-- state of each service instance's release (service_states, one row per
-- service and pull request number, written by the node that runs it) and
-- its last restarts (service_restarts, the newest 20 per instance kept).
CREATE TABLE service_states (
    service_id TEXT NOT NULL,
    pr_number  INTEGER NOT NULL,
    release_id TEXT NOT NULL,
    state      TEXT NOT NULL,
    restarts   INTEGER NOT NULL,
    node_id    TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (service_id, pr_number)
);
CREATE TABLE service_restarts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id   TEXT NOT NULL,
    pr_number    INTEGER NOT NULL,
    release_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    health_check INTEGER NOT NULL,
    exit_code    INTEGER,
    reason       TEXT NOT NULL,
    last_lines   TEXT NOT NULL,
    state        TEXT NOT NULL
);
CREATE INDEX service_restarts_instance ON service_restarts (service_id, pr_number, id);

-- +goose Down
DROP TABLE service_restarts;
DROP TABLE service_states;
