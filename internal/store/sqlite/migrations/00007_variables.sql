-- +goose Up
-- Environment variables set through the API and the CLI, beside the ones of
-- the config file. A variable applies to a whole project (environment_id
-- 0), to one environment (service_id ''), or to one service of an
-- environment (its given id, so it survives the service leaving the config
-- and coming back). kind says what value holds: plainText the value;
-- fromParameterStore and fromSecretsManager the name of a secret;
-- fromService the JSON {"id", "value"}; secret nothing, the value is in
-- sealed (AES-256-GCM, under the key key_id of the secret key file).
CREATE TABLE variables (
    project_id     TEXT NOT NULL,
    environment_id INTEGER NOT NULL,
    service_id     TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    value          TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    sealed         BLOB,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (project_id, environment_id, service_id, name)
);

-- Named secrets, what {"fromParameterStore": name} and
-- {"fromSecretsManager": name} read: per project (environment_id 0) or per
-- environment, which wins. The value is sealed as a variable's.
CREATE TABLE secrets (
    project_id     TEXT NOT NULL,
    environment_id INTEGER NOT NULL,
    name           TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (project_id, environment_id, name)
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE variables;
