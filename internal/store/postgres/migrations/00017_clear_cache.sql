-- +goose Up
-- A deployment with clear_cache builds every service from an empty build
-- cache (and docker builds with --no-cache), then saves a new one. A
-- PENDING deployment it joins is upgraded, as force is.
ALTER TABLE deployments ADD COLUMN clear_cache BOOLEAN NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE deployments DROP COLUMN clear_cache;
