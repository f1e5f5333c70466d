-- +goose Up
-- A project's slug is the label its host names carry
-- (<service>.<environment>.<slug>.localhost). Projects created before it
-- existed get one at the next start (empty until then).
ALTER TABLE projects ADD COLUMN slug TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX projects_slug ON projects (slug) WHERE slug <> '' AND deleted_at IS NULL;

-- Host names in use, first come first served: the short name of a service
-- (<service>.<environment>.localhost) belongs to the first project that
-- deployed there, on every replica and after every restart.
CREATE TABLE host_claims (
    host           TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    environment_id INTEGER NOT NULL,
    pr_number      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX host_claims_instance ON host_claims (environment_id, pr_number);

-- +goose Down
DROP TABLE host_claims;
DROP INDEX projects_slug;
ALTER TABLE projects DROP COLUMN slug;
