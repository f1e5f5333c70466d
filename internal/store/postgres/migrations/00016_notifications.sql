-- +goose Up
-- Notifications: what each deployment told the world, the places that
-- hear it and the queue of deliveries to them.
--
-- events_told is how far a deployment's events were recorded: 0 none, 1
-- deployment.created, 2 deployment.started, 3 how it ended. It is the
-- cursor of the loop that derives events (package notify): the loop reads
-- only the rows of the partial index deployments_untold, which holds the
-- deployments not told to the end: those queued or running (a few per
-- environment instance) and those whose end is not told yet. A watermark
-- on an updated time would need every statement that changes a
-- deployment's status (there are many, some inside other transactions)
-- to keep it, and a clock shared by the replicas; the told stage needs
-- neither. Deployments that ended before this migration are history:
-- they are marked told and never sent.
ALTER TABLE deployments ADD COLUMN events_told BIGINT NOT NULL DEFAULT 0;
UPDATE deployments SET events_told = 3
    WHERE status IN ('SUCCESS', 'NO_CHANGE', 'BUILD_ERROR', 'DEPLOY_ERROR', 'ERROR', 'CANCELLED');
CREATE INDEX deployments_untold ON deployments (created_at, id) WHERE events_told < 3;

-- One row per event: the primary key records each (deployment, type)
-- once, whichever replica derives it first. seq orders a deployment's
-- events (0 created, 1 started, 2 the end).
CREATE TABLE deployment_events (
    deployment_id TEXT NOT NULL,
    type          TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    event_at      BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    PRIMARY KEY (deployment_id, type)
);

-- The webhooks of an environment. events is ",type,type," (the types it
-- hears) or '' for every type; format is json or slack; source is api
-- (made through the API) or config (declared in liftoff.json). The
-- signing secret is in sealed (AES-256-GCM, under the key key_id of the
-- secret key file).
CREATE TABLE notification_endpoints (
    id             TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    environment_id BIGINT NOT NULL,
    url            TEXT NOT NULL,
    events         TEXT NOT NULL,
    format         TEXT NOT NULL,
    source         TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    sealed         BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX notification_endpoints_environment ON notification_endpoints (environment_id, created_at) WHERE deleted_at IS NULL;
-- A URL declared in liftoff.json is one endpoint however many replicas
-- read the config.
CREATE UNIQUE INDEX notification_endpoints_config ON notification_endpoints (environment_id, url)
    WHERE deleted_at IS NULL AND source = 'config';

-- The durable queue: one delivery per event and destination (an
-- endpoint's id, or sink:<name> for a destination wired in the server).
-- state is pending, delivered or failed (given up). A replica claims a
-- due pending delivery by moving next_attempt_at to the end of its lease
-- (lease_owner): when it dies the delivery is due again then.
CREATE TABLE notification_deliveries (
    destination     TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    deployment_id   TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    event_at        BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    last_status     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    PRIMARY KEY (destination, event_id)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notification_deliveries_log ON notification_deliveries (destination, created_at);

-- +goose Down
DROP TABLE notification_deliveries;
DROP TABLE notification_endpoints;
DROP TABLE deployment_events;
DROP INDEX deployments_untold;
ALTER TABLE deployments DROP COLUMN events_told;
