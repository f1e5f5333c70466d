-- +goose Up
-- The dashboard's users and their sessions. A user's role has the names and
-- powers of API key scopes (admin, deploy, read), and a deploy user names its
-- environments as a deploy key does: a JSON array of environment ids.
-- Passwords are stored as argon2id hashes (PHC strings), session tokens as
-- their SHA-256: a copy of the database signs nobody in.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL,
    environment_ids TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);

-- A session lives until expires_at, which each request seen pushes forward
-- (sliding expiry, written at most every few minutes: last_seen_at). It goes
-- with its user.
CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE users;
