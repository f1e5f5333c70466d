-- +goose Up
-- What the TLS certificates of the proxy need, shared by every replica
-- (package certstore, certmagic's storage): certificates, their private
-- keys, ACME accounts and OCSP staples, each a value under a slash-separated
-- key (certificates/<issuer>/<domain>/<domain>.key). Every value is sealed
-- (AES-256-GCM, under the key key_id of the secret key file, bound to its
-- key); size is the length of the value in clear. Keys compare byte by
-- byte (COLLATE "C"), as on SQLite, so that the keys under a prefix are one
-- range of the primary key.
CREATE TABLE certificates (
    key        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    key_id     TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    size       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The locks replicas take before issuing or renewing a certificate: one row
-- per held lock, owned by one holder (a random token per acquisition) until
-- expires_at, which the holder pushes forward while it holds it. A row whose
-- expires_at passed belongs to a holder that died, and the next one takes it.
CREATE TABLE certificate_locks (
    name       TEXT NOT NULL PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE certificate_locks;
DROP TABLE certificates;
