-- +goose Up
-- The resources Liftoff made on the operator's servers for the rds
-- (postgres) and elasticache (redis) services of each environment
-- instance (pr_number 0 for a normal environment, the PR's number for a
-- preview): a database and its role, or a Redis user and its key prefix,
-- both called name. The password is in sealed (AES-256-GCM, under the key
-- key_id of the secret key file). state is 'creating' while it is made
-- (what exists of it on the server is removed before it is made again),
-- 'available', or 'deleting' while it is dropped; the row goes once it was
-- dropped.
CREATE TABLE managed_resources (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    environment_id INTEGER NOT NULL,
    pr_number      INTEGER NOT NULL,
    service_id     TEXT NOT NULL,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    state          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (environment_id, pr_number, service_id),
    UNIQUE (kind, name)
);

-- +goose Down
DROP TABLE managed_resources;
