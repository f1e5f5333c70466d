-- +goose Up
-- Runs of scheduler services' jobs. A scheduled time is recorded once
-- across replicas (job_executions_scheduled), and a job has at most one
-- run IN_PROGRESS (job_executions_running), held under a lease its node
-- renews; a run whose node stopped renewing it ends FAILED. The output
-- of a run is in deployment_logs, under the run's id.
CREATE TABLE job_executions (
    id                    TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL,
    environment_id        BIGINT NOT NULL,
    pr_number             INTEGER NOT NULL,
    service_id            TEXT NOT NULL,
    job_id                TEXT NOT NULL,
    service_deployment_id TEXT NOT NULL,
    trigger_type          TEXT NOT NULL,
    scheduled_at          BIGINT,
    command               TEXT NOT NULL,
    status                TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    started_at            BIGINT,
    finished_at           BIGINT,
    exit_code             INTEGER,
    error                 TEXT NOT NULL DEFAULT '',
    lease_owner           TEXT,
    lease_expires_at      BIGINT
);
CREATE UNIQUE INDEX job_executions_scheduled ON job_executions (service_id, pr_number, job_id, scheduled_at) WHERE trigger_type = 'schedule';
CREATE UNIQUE INDEX job_executions_running ON job_executions (service_id, pr_number, job_id) WHERE status = 'IN_PROGRESS';
CREATE INDEX job_executions_initializing ON job_executions (created_at, id) WHERE status = 'INITIALIZING';
CREATE INDEX job_executions_job ON job_executions (service_id, pr_number, job_id, created_at);

-- +goose Down
DROP TABLE job_executions;
