-- +goose Up
-- The container image a service deployment's release runs: a docker
-- build's tag or a prebuilt image, so that a release and a rollback know
-- what to run. Empty for services that run no container.
ALTER TABLE service_deployments ADD COLUMN image TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE service_deployments DROP COLUMN image;
