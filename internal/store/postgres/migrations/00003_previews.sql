-- +goose Up
-- Preview instances: one per pull request of a preview environment. A torn
-- down instance keeps its row (deleted_at) and its deployment history; a
-- later deployment of the same PR starts it afresh (created_at moves, and
-- with it the start of its watch-path history).
CREATE TABLE preview_instances (
    environment_id   BIGINT NOT NULL,
    pr_number        INTEGER NOT NULL,
    head_branch      TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    last_deployed_at BIGINT NOT NULL,
    teardown_at      BIGINT,
    deleted_at       BIGINT,
    cleaned_at       BIGINT,
    PRIMARY KEY (environment_id, pr_number)
);

-- Links a project to a GitHub repository ("owner/name") for webhooks when
-- its repoUrl does not say it.
ALTER TABLE projects ADD COLUMN github_repository TEXT NOT NULL DEFAULT '';

-- What started a deployment beyond its trigger type (a GitHub event ...).
ALTER TABLE deployments ADD COLUMN trigger_detail TEXT;

-- +goose Down
ALTER TABLE deployments DROP COLUMN trigger_detail;
ALTER TABLE projects DROP COLUMN github_repository;
DROP TABLE preview_instances;
