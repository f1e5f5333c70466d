-- +goose Up
-- A deployment with clear_cache builds every service from an empty build
-- cache (and docker builds with --no-cache), then saves a new one. A
-- PENDING deployment it joins is upgraded, as force is.
ALTER TABLE deployments ADD COLUMN clear_cache INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE deployments DROP COLUMN clear_cache;
