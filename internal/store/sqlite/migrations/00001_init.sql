-- +goose Up
-- Times are integer milliseconds since the Unix epoch (UTC); booleans are 0/1.
CREATE TABLE projects (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    repo_url       TEXT NOT NULL,
    config_path    TEXT NOT NULL,
    default_branch TEXT NOT NULL DEFAULT '',
    config_commit  TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
);

-- AUTOINCREMENT: an environment id is never reused, even after deletion, so a
-- hook URL of a deleted environment can never start deploying another one.
CREATE TABLE environments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL REFERENCES projects (id),
    given_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    is_preview INTEGER NOT NULL,
    branch     TEXT NOT NULL DEFAULT '',
    config     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    UNIQUE (project_id, given_id)
);

CREATE TABLE services (
    id             TEXT PRIMARY KEY,
    environment_id INTEGER NOT NULL REFERENCES environments (id),
    given_id       TEXT NOT NULL,
    name           TEXT NOT NULL,
    type           TEXT NOT NULL,
    config         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    UNIQUE (environment_id, given_id)
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);

CREATE TABLE deploy_hooks (
    id                   TEXT PRIMARY KEY,
    environment_id       INTEGER NOT NULL REFERENCES environments (id),
    name                 TEXT NOT NULL,
    secret_hash          TEXT NOT NULL,
    previous_secret_hash TEXT,
    previous_expires_at  INTEGER,
    paused               INTEGER NOT NULL DEFAULT 0,
    use_count            INTEGER NOT NULL DEFAULT 0,
    last_used_at         INTEGER,
    last_caller_address  TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    deleted_at           INTEGER
);
CREATE INDEX deploy_hooks_environment ON deploy_hooks (environment_id) WHERE deleted_at IS NULL;

CREATE TABLE hook_calls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id       TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    address       TEXT NOT NULL,
    status        INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    deployment_id TEXT
);
CREATE INDEX hook_calls_hook ON hook_calls (hook_id, id);

CREATE TABLE idempotency_keys (
    hook_id       TEXT NOT NULL,
    key           TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (hook_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- No foreign keys here, on purpose: every hook call inserts a row, and a
-- foreign key check locks the environment's row for each of them, which cost
-- a quarter of the hook path's throughput on PostgreSQL. Projects and
-- environments are never deleted (only marked deleted), so the references
-- cannot dangle.
CREATE TABLE deployments (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    environment_id   INTEGER NOT NULL,
    pr_number        INTEGER NOT NULL DEFAULT 0,
    repo_url         TEXT NOT NULL,
    requested_commit TEXT NOT NULL DEFAULT '',
    git_commit       TEXT,
    git_branch       TEXT NOT NULL DEFAULT '',
    force            INTEGER NOT NULL DEFAULT 0,
    trigger_type     TEXT NOT NULL,
    hook_id          TEXT,
    hook_name        TEXT,
    status           TEXT NOT NULL,
    errors           TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);
-- At most one PENDING deployment per environment instance (a trigger joins or
-- supersedes it), and at most one running: the database, not memory, keeps
-- deployments of one environment one at a time.
CREATE UNIQUE INDEX deployments_one_pending ON deployments (environment_id, pr_number) WHERE status = 'PENDING';
CREATE UNIQUE INDEX deployments_one_running ON deployments (environment_id, pr_number)
    WHERE status IN ('INPROGRESS', 'BUILDING', 'DEPLOYING');
CREATE INDEX deployments_created ON deployments (created_at, id);
CREATE INDEX deployments_environment_created ON deployments (environment_id, created_at, id);

CREATE TABLE service_deployments (
    id               TEXT PRIMARY KEY,
    deployment_id    TEXT NOT NULL REFERENCES deployments (id),
    service_id       TEXT NOT NULL,
    service_given_id TEXT NOT NULL,
    service_name     TEXT NOT NULL,
    service_type     TEXT NOT NULL,
    service_domain   TEXT NOT NULL DEFAULT '',
    position         INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    errors           TEXT,
    started_at       INTEGER,
    finished_at      INTEGER
);
CREATE INDEX service_deployments_deployment ON service_deployments (deployment_id);

-- +goose Down
DROP TABLE service_deployments;
DROP TABLE deployments;
DROP TABLE idempotency_keys;
DROP TABLE hook_calls;
DROP TABLE deploy_hooks;
DROP TABLE api_keys;
DROP TABLE services;
DROP TABLE environments;
DROP TABLE projects;
