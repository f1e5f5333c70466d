-- +goose Up
-- Who may open an environment's web and static services through Liftoff's
-- proxy, as set through the API (never the config file, which a pull
-- request could change). No row: the default of the environment's kind
-- (protected for a preview environment, public for the others). mode is
-- '' (that default), 'public' or 'protected'; the shared password, when
-- there is one, is in password_sealed (AES-256-GCM, under the key
-- password_key_id of the secret key file; '' without a password).
CREATE TABLE environment_protection (
    environment_id  INTEGER PRIMARY KEY,
    mode            TEXT NOT NULL,
    password_key_id TEXT NOT NULL,
    password_sealed BLOB,
    updated_at      INTEGER NOT NULL
);

-- +goose Down
DROP TABLE environment_protection;
