-- +goose Up
-- API key scopes: admin (everything), deploy (the hooks, deployments and
-- previews of the environments the key names) or read (GET routes only).
-- Keys made before scopes existed become admin, so nobody is locked out.
--
-- A deploy key's environments are a JSON array of environment ids on its own
-- row, not a join table: authentication stays one lookup by the key's hash,
-- and a key never changes after it is made (revoke it and make another).
-- Environment ids are never reused (environments are only marked deleted),
-- so an id on a key can never come to mean another environment.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN environment_ids TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN environment_ids;
ALTER TABLE api_keys DROP COLUMN scope;
