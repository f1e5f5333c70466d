-- +goose Up
-- The deployment engine: leases of running deployments, cancel requests,
-- the config each deployment read, per-service bases and builds, and logs.
ALTER TABLE deployments ADD COLUMN lease_owner TEXT;
ALTER TABLE deployments ADD COLUMN lease_expires_at INTEGER;
ALTER TABLE deployments ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN config TEXT;
ALTER TABLE deployments ADD COLUMN redeploy_of TEXT;
CREATE INDEX deployments_pending ON deployments (created_at, id) WHERE status = 'PENDING';

ALTER TABLE service_deployments ADD COLUMN environment_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_deployments ADD COLUMN pr_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE service_deployments ADD COLUMN git_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE service_deployments ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE service_deployments ADD COLUMN build_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE service_deployments ADD COLUMN config TEXT NOT NULL DEFAULT '';
ALTER TABLE service_deployments ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX service_deployments_service ON service_deployments (service_id, pr_number, status, finished_at);

CREATE TABLE deployment_logs (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id         TEXT NOT NULL,
    service_deployment_id TEXT NOT NULL DEFAULT '',
    at                    INTEGER NOT NULL,
    text                  TEXT NOT NULL
);
CREATE INDEX deployment_logs_deployment ON deployment_logs (deployment_id, id);

-- +goose Down
DROP TABLE deployment_logs;
DROP INDEX service_deployments_service;
ALTER TABLE service_deployments DROP COLUMN created_at;
ALTER TABLE service_deployments DROP COLUMN config;
ALTER TABLE service_deployments DROP COLUMN build_dir;
ALTER TABLE service_deployments DROP COLUMN fingerprint;
ALTER TABLE service_deployments DROP COLUMN git_commit;
ALTER TABLE service_deployments DROP COLUMN pr_number;
ALTER TABLE service_deployments DROP COLUMN environment_id;
DROP INDEX deployments_pending;
ALTER TABLE deployments DROP COLUMN redeploy_of;
ALTER TABLE deployments DROP COLUMN config;
ALTER TABLE deployments DROP COLUMN cancel_requested;
ALTER TABLE deployments DROP COLUMN lease_expires_at;
ALTER TABLE deployments DROP COLUMN lease_owner;
