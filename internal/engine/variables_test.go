package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// variablesConfig has a web service reading a secret set through the API
// and a named secret through the file, and a worker whose build must not
// see them (includeEnvVariablesInBuild: false).
const variablesConfig = `{"envVariables": {"LOG_LEVEL": "file"},
 "environments": [{"id": "production", "name": "P", "source": {"branch": "main"}, "services": [
  {"id": "web", "name": "Web", "type": "web", "startCommand": "x", "watchPaths": ["web/**"],
   "buildCommand": "echo \"web build sees $TOKEN and $DB_URL\"; printf %s \"$TOKEN\" > token.txt",
   "envVariables": {"DB_URL": {"fromParameterStore": "/prod/db"}, "API": {"fromService": {"id": "web", "value": "origin"}}}},
  {"id": "jobs", "name": "Jobs", "type": "worker", "startCommand": "x", "watchPaths": ["jobs/**"], "includeEnvVariablesInBuild": false,
   "buildCommand": "echo \"jobs build sees ${TOKEN:-no token}\""}
 ]}]}`

const (
	tokenValue = "tok-3f9a61c2e8"
	dbValue    = "postgres://app:pw-71be04@db/app"
)

// TestVariablesReachBuildAndRelease: a secret set through the API and a
// named secret the file reads reach the build and the release, are in no
// stored line or error, and the build of a service that opts out does not
// see them.
func TestVariablesReachBuildAndRelease(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, variablesConfig, nil, newFakeTarget())
	ctx := context.Background()
	if _, err := h.vars.Set(ctx, variables.Scope{ProjectID: h.p.ID, EnvironmentID: h.env.ID},
		variables.Groups{SecretsManager: map[string]string{"TOKEN": tokenValue}, PlainText: map[string]string{"LOG_LEVEL": "api"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.vars.SetSecret(ctx, h.p.ID, 0, "/prod/db", dbValue); err != nil {
		t.Fatal(err)
	}
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	web := service(t, d, "web")
	for _, rel := range h.tg.released() {
		hasToken := slices.Contains(rel.Env, "TOKEN="+tokenValue)
		if !hasToken || (rel.Service.ID == "web") != slices.Contains(rel.Env, "DB_URL="+dbValue) {
			t.Errorf("%s: the release's environment lacks its variables: %v", rel.Service.ID, rel.Env)
		}
		// The file wins over the API.
		if !slices.Contains(rel.Env, "LOG_LEVEL=file") {
			t.Errorf("%s: LOG_LEVEL is not the file's: %v", rel.Service.ID, rel.Env)
		}
		if rel.Service.ID == "web" && !slices.Contains(rel.Env, "API="+web.ServiceDomain) {
			t.Errorf("web: API is not its own origin %s: %v", web.ServiceDomain, rel.Env)
		}
		if rel.Scrub.String(tokenValue) == tokenValue {
			t.Errorf("%s: the release's scrubber does not hide the secret", rel.Service.ID)
		}
	}
	if b, err := os.ReadFile(filepath.Join(web.BuildDir, "token.txt")); err != nil || string(b) != tokenValue {
		t.Errorf("web's build saw TOKEN %q, %v", b, err)
	}
	text := logText(t, h, d.ID)
	for _, secret := range []string{tokenValue, dbValue} {
		if strings.Contains(text, secret) {
			t.Errorf("a secret value is in the stored output:\n%s", text)
		}
	}
	for _, want := range []string{"web build sees [REDACTED] and [REDACTED]", "jobs build sees no token"} {
		if !strings.Contains(text, want) {
			t.Errorf("the stored output lacks %q:\n%s", want, text)
		}
	}

	// Nothing changed: nothing builds. A variable changes: web and jobs
	// build again, without force.
	if again := h.deploy(liftoff.Deployment{}); service(t, again, "web").Status != liftoff.StatusNoChange {
		t.Fatalf("a deployment without changes built web: %+v", again.Services)
	}
	if _, err := h.vars.Set(ctx, variables.Scope{ProjectID: h.p.ID, EnvironmentID: h.env.ID, ServiceID: "jobs"},
		variables.Groups{PlainText: map[string]string{"WORKERS": "4"}}); err != nil {
		t.Fatal(err)
	}
	changed := h.deploy(liftoff.Deployment{})
	if service(t, changed, "jobs").Status != liftoff.StatusSuccess || service(t, changed, "web").Status != liftoff.StatusNoChange {
		t.Fatalf("after a variable of jobs changed: %+v", changed.Services)
	}
}

// TestUnresolvedVariableFailsBeforeBuild: a reference to a secret nobody
// set fails the deployment before anything builds, saying what to run.
func TestUnresolvedVariableFailsBeforeBuild(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, variablesConfig, nil, newFakeTarget())
	d := h.deploy(liftoff.Deployment{})
	if d.Status != liftoff.StatusError || len(d.Errors) != 1 {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	want := "variable DB_URL of service web reads the secret /prod/db, which is not set: set it with `liftoff secrets set --project " + h.p.ID + " --env production /prod/db`"
	if d.Errors[0].Message != want {
		t.Errorf("error %q, want %q", d.Errors[0].Message, want)
	}
	if len(h.tg.released()) != 0 || len(d.Services) != 0 {
		t.Errorf("something deployed: %+v", d.Services)
	}
	if text := logText(t, h, d.ID); strings.Contains(text, "build sees") {
		t.Errorf("a build ran:\n%s", text)
	}
}

// logText is every stored line of a deployment.
func logText(t *testing.T, h *engineHarness, id string) string {
	t.Helper()
	h.e.Logs.Flush(h.ctx)
	lines, err := h.st.ListLogs(h.ctx, store.ListLogsParams{DeploymentID: id, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}
