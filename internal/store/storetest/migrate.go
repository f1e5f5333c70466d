package storetest

import (
	"context"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store"
)

// testMigrationTakesCredentialsOutOfURLs: rows stored before migration 4
// with credentials in their repository URLs come out of it with the URL
// bare, the credential of a project kept apart, and no credential left in a
// deployment row.
func testMigrationTakesCredentialsOutOfURLs(t *testing.T, drv Driver) {
	rows := []struct {
		url, want, cred string
	}{
		{"https://x-access-token:ghp_tok@github.com/acme/shop.git", "https://github.com/acme/shop.git", "x-access-token:ghp_tok"},
		{"https://ghp_tok@GitHub.com/acme/api", "https://GitHub.com/acme/api", "ghp_tok"},
		{"HTTP://me:p%40ss@git.local:8080/a@b/c.git", "HTTP://git.local:8080/a@b/c.git", "me:p%40ss"},
		{"ssh://git:hunter2@github.com:22/acme/shop.git", "ssh://git@github.com:22/acme/shop.git", ""},
		{"ssh://git@github.com/acme/shop.git", "ssh://git@github.com/acme/shop.git", ""},
		{"git@github.com:acme/shop.git", "git@github.com:acme/shop.git", ""},
		{"file://u:p@localhost/srv/git/shop", "file://localhost/srv/git/shop", ""},
		{"/srv/git/shop", "/srv/git/shop", ""},
		{"https://github.com/acme/a@b", "https://github.com/acme/a@b", ""},
	}
	ctx := context.Background()
	db, open := drv.OpenAt(t, 3)
	for i, r := range rows {
		id := "p" + string(rune('a'+i))
		if _, err := db.ExecContext(ctx, `INSERT INTO projects (id, name, repo_url, config_path, created_at, updated_at)
			VALUES ($1, $1, $2, 'liftoff.json', 1, 1)`, id, r.url); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO deployments (id, project_id, environment_id, repo_url, trigger_type, status, created_at)
			VALUES ($1, $1, 1, $2, 'api', 'SUCCESS', 1)`, "d"+id, r.url); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO environments (id, project_id, given_id, name, is_preview, config, created_at, updated_at)
		VALUES (1, 'pa', 'production', 'Production', $1, '{}', 1, 1)`, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t) // migrates to the newest version
	for i, r := range rows {
		id := "p" + string(rune('a'+i))
		p, err := s.GetProject(ctx, store.GetProjectParams{ID: id})
		if err != nil || p.RepoURL != r.want {
			t.Errorf("project with %s: repo URL %q, %v; want %q", r.url, p.RepoURL, err, r.want)
		}
		cred, err := s.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: id})
		if err != nil || cred.Userinfo != r.cred {
			t.Errorf("project with %s: credential %q, %v; want %q", r.url, cred.Userinfo, err, r.cred)
		}
		d, err := s.GetDeployment(ctx, store.GetDeploymentParams{ID: "d" + id})
		if err != nil || d.RepoURL != r.want {
			t.Errorf("deployment with %s: repo URL %q, %v; want %q", r.url, d.RepoURL, err, r.want)
		}
	}
}
