-- +goose Up
-- Repository credentials live apart from the URL: projects.repo_url is what
-- is shown, repo_credential (the user information of an http(s) URL, as
-- percent-encoded user[:password]) is read only to run git.
ALTER TABLE projects ADD COLUMN repo_credential TEXT NOT NULL DEFAULT '';

-- Move the user information out of the URLs already stored: http(s) and
-- file URLs lose it all (kept as the credential for http(s)), ssh URLs keep
-- their login name and lose their password (git never sends it). The
-- authority ends at the first "/" (a stored URL always has a path); its
-- user information ends at its last "@": rtrim(auth, <every other
-- character of auth>) keeps auth up to that "@".
WITH s AS (
    SELECT id, scheme, head, rest, rtrim(auth, replace(auth, '@', '')) AS ui FROM (
        SELECT id,
            lower(substr(repo_url, 1, greatest(strpos(repo_url, '://') - 1, 0))) AS scheme,
            substr(repo_url, 1, strpos(repo_url, '://') + 2) AS head,
            substr(repo_url, strpos(repo_url, '://') + 3) AS rest,
            substr(substr(repo_url, strpos(repo_url, '://') + 3), 1,
                strpos(substr(repo_url, strpos(repo_url, '://') + 3) || '/', '/') - 1) AS auth
        FROM projects WHERE strpos(repo_url, '://') > 0) AS split)
UPDATE projects SET
    repo_credential = CASE WHEN s.scheme IN ('http', 'https') THEN substr(s.ui, 1, length(s.ui) - 1) ELSE '' END,
    repo_url = s.head || CASE WHEN s.scheme = 'ssh' THEN substr(s.ui, 1, greatest(strpos(s.ui, ':') - 1, 0)) || '@' ELSE '' END
        || substr(s.rest, length(s.ui) + 1)
FROM s
WHERE projects.id = s.id AND s.ui <> '' AND (s.scheme <> 'ssh' OR strpos(s.ui, ':') > 0);

-- Deployments copied their project's URL: the same, without keeping anything.
WITH s AS (
    SELECT id, scheme, head, rest, rtrim(auth, replace(auth, '@', '')) AS ui FROM (
        SELECT id,
            lower(substr(repo_url, 1, greatest(strpos(repo_url, '://') - 1, 0))) AS scheme,
            substr(repo_url, 1, strpos(repo_url, '://') + 2) AS head,
            substr(repo_url, strpos(repo_url, '://') + 3) AS rest,
            substr(substr(repo_url, strpos(repo_url, '://') + 3), 1,
                strpos(substr(repo_url, strpos(repo_url, '://') + 3) || '/', '/') - 1) AS auth
        FROM deployments WHERE strpos(repo_url, '://') > 0 AND strpos(repo_url, '@') > 0) AS split)
UPDATE deployments SET
    repo_url = s.head || CASE WHEN s.scheme = 'ssh' THEN substr(s.ui, 1, greatest(strpos(s.ui, ':') - 1, 0)) || '@' ELSE '' END
        || substr(s.rest, length(s.ui) + 1)
FROM s
WHERE deployments.id = s.id AND s.ui <> '' AND (s.scheme <> 'ssh' OR strpos(s.ui, ':') > 0);

-- GitHub deliveries seen (X-GitHub-Delivery), and the SHA-256 of their
-- bodies, so that a delivery replayed, by GitHub or with a new delivery id,
-- acts once. Rows older than a day are pruned as new deliveries arrive.
CREATE TABLE github_deliveries (
    delivery_id TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL UNIQUE,
    received_at BIGINT NOT NULL
);
CREATE INDEX github_deliveries_received ON github_deliveries (received_at);

-- The commit an environment instance last deployed (a push older than it is
-- not deployed).
CREATE INDEX service_deployments_instance_success ON service_deployments (environment_id, pr_number, finished_at)
    WHERE status = 'SUCCESS';

-- +goose Down
DROP INDEX service_deployments_instance_success;
DROP TABLE github_deliveries;
-- Credentials go back into the URLs they came from.
UPDATE projects SET repo_url = substr(repo_url, 1, strpos(repo_url, '://') + 2) || repo_credential || '@'
    || substr(repo_url, strpos(repo_url, '://') + 3)
WHERE repo_credential <> '' AND strpos(repo_url, '://') > 0;
ALTER TABLE projects DROP COLUMN repo_credential;
