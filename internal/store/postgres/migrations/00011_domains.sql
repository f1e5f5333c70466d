-- +goose Up
-- Custom domains are claimed as .localhost names are, and name the
-- service that holds them, so that two services claiming one host are
-- told apart ('' for the claims of .localhost names, whose service is in
-- the name).
ALTER TABLE host_claims ADD COLUMN service_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE host_claims DROP COLUMN service_id;
