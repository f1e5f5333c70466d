package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// variablesFile reads every kind of value Flightcontrol files use: a
// literal, {"fromParameterStore": name}, {"fromSecretsManager": arn},
// {"fromService": ...} of a database Liftoff does not run and of a static
// site it does.
func variablesFile() string {
	return `{"$schema": "https://app.flightcontrol.dev/schema.json", "envVariables": {"APP_ENV": "production"},
 "environments": [{"id": "production", "name": "Production", "source": {"branch": "main"},
  "envVariables": {"ALGOLIA_KEY": {"fromParameterStore": "ALGOLIA_API_ADMIN_KEY"}},
  "services": [
   {"id": "api", "name": "API", "type": "fargate", "buildType": "nixpacks", "basePath": "api", "startCommand": "` + webserver + `",
    "healthCheckPath": "/health", "buildCommand": "echo \"build sees $STRIPE_KEY and $APP_ENV\"",
    "envVariables": {
     "DATABASE_URL": {"fromService": {"id": "db", "value": "dbConnectionString"}},
     "SESSION_SECRET": {"fromSecretsManager": "arn:aws:secretsmanager:us-east-1:123456789012:secret:session-AbCdEf"},
     "SITE_ORIGIN": {"fromService": {"id": "site", "value": "origin"}}}},
   {"id": "site", "name": "Site", "type": "static", "basePath": "site", "outputDirectory": "."},
   {"id": "db", "name": "DB", "type": "rds", "engine": "postgres"}
  ]}]}`
}

// The secret values of the test: none may appear anywhere Liftoff writes.
var secretValues = map[string]string{
	"STRIPE_KEY":     "sk_live_5be1c0ffee77",
	"ALGOLIA_KEY":    "algolia-9f3e2d1c0b",
	"DATABASE_URL":   "postgres://app:pw-7c1e99@db.internal:5432/app",
	"SESSION_SECRET": "session-0a1b2c3d4e5f",
}

// TestSecretsReachServicesAndNoLog: a file that reads secrets fails before
// any build while they are unset, saying what to run; once set with the
// CLI (values from stdin), they reach the build and the running service,
// fromService gives a static site's origin, and no value is in the
// deployment's output, the service's log file, the server's log, an API
// answer or the database file. A key rotation while the server runs
// leaves every value readable.
func TestSecretsReachServicesAndNoLog(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	f := &fixture{t: t, logs: &logLines{}}
	f.flags = storeFlags(t, "sqlite", dataDir)
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{
		"flightcontrol.json": variablesFile(),
		"api/version.txt":    "api with secrets",
		"site/index.html":    "<h1>site</h1>",
	})
	ctx := context.Background()
	var err error
	if f.project, err = f.c.CreateProject(ctx, "fc", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the secret key file: %v, %v", fi, err)
	}
	env := f.project.Environments[0].EnvironmentID
	if f.hook, err = f.c.CreateHook(ctx, env, "CI"); err != nil {
		t.Fatal(err)
	}

	d := f.wait(f.call(""))
	want := "variable ALGOLIA_KEY of service api reads the secret ALGOLIA_API_ADMIN_KEY, which is not set: set it with `liftoff secrets set --project " +
		f.project.ProjectID + " --env production ALGOLIA_API_ADMIN_KEY`"
	if d.Status != "ERROR" || len(d.Error) != 1 || !strings.Contains(d.Error[0]["ERROR"], want) {
		t.Fatalf("deployment with unset secrets ended %s %v, want ERROR with %q", d.Status, d.Error, want)
	}

	cli := f.cliIn
	cli(secretValues["ALGOLIA_KEY"]+"\n", "secrets", "set", "--project", "fc", "ALGOLIA_API_ADMIN_KEY")
	cli(secretValues["DATABASE_URL"], "secrets", "set", "--project", "fc", "--env", "production", "db.dbConnectionString")
	cli(secretValues["SESSION_SECRET"], "secrets", "set", "--project", "fc", "arn:aws:secretsmanager:us-east-1:123456789012:secret:session-AbCdEf")
	cli(secretValues["STRIPE_KEY"], "env", "set", "--project", "fc", "--env", "production", "--service", "api", "--secret", "STRIPE_KEY")
	out := cli("", "env", "set", "--project", "fc", "--env", "production", "--deploy", "LOG_LEVEL=debug", "--json")
	var started client.StartedDeployment
	if err := json.Unmarshal([]byte(out), &started); err != nil || started.DeploymentID == "" {
		t.Fatalf("env set --deploy printed %q: %v", out, err)
	}
	d = f.wait(started.DeploymentID)
	if d.Status != "SUCCESS" {
		t.Fatalf("deployment ended %s %v", d.Status, d.Error)
	}
	site := service(t, d, "site")
	if site.Service.ServiceDomain == nil {
		t.Fatalf("site has no domain: %+v", site)
	}
	wantEnv := map[string]string{"LOG_LEVEL": "debug", "APP_ENV": "production", "SITE_ORIGIN": *site.Service.ServiceDomain}
	for name, v := range secretValues {
		wantEnv[name] = v
	}
	for name, v := range wantEnv {
		if status, body := f.get("api", "/env/"+name); status != 200 || body != v {
			t.Errorf("the running api has %s=%q (%d), want %q", name, body, status, v)
		}
	}
	logs, err := f.c.Logs(ctx, d.DeploymentID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "build sees [REDACTED] and production") {
		t.Errorf("the build did not see STRIPE_KEY, or it was not scrubbed:\n%s", logs)
	}

	// Every place Liftoff writes, and every answer.
	listed := cli("", "env", "list", "--project", "fc", "--env", "production", "--service", "api")
	if !strings.Contains(listed, "STRIPE_KEY") || !strings.Contains(listed, "********") {
		t.Errorf("env list:\n%s", listed)
	}
	answers := []string{logs, listed, cli("", "secrets", "list", "--project", "fc"), cli("", "deployments", "get", d.DeploymentID, "--json"),
		cli("", "env", "list", "--project", "fc", "--env", "production", "--json"), strings.Join(f.logs.all(), "\n")}
	for i, text := range answers {
		for name, v := range secretValues {
			if strings.Contains(text, v) {
				t.Errorf("answer %d holds %s's value:\n%s", i, name, text)
			}
		}
	}
	// The files Liftoff keeps hold no value: the database (its
	// write-ahead log too), the services' log files, the key file.
	_ = filepath.WalkDir(dataDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.Contains(path, string(filepath.Separator)+"builds"+string(filepath.Separator)) ||
			strings.Contains(path, string(filepath.Separator)+"mirrors"+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for name, v := range secretValues {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds %s's value", path, name)
			}
		}
		return nil
	})

	// Rotate the key while the server runs: the next deployment still
	// reads every value.
	var rotated struct {
		KeyID    string `json:"keyId"`
		Resealed int    `json:"resealed"`
	}
	if err := json.Unmarshal([]byte(liftoffCLI(t, "secrets", "rotate-key", "--data-dir", dataDir, "--json")), &rotated); err != nil || rotated.Resealed != 4 {
		t.Fatalf("rotate-key: %+v, %v", rotated, err)
	}
	if d := f.deploy("?force=true"); d.Status != "SUCCESS" {
		t.Fatalf("deployment after the rotation ended %s %v", d.Status, d.Error)
	}
	if status, body := f.get("api", "/env/STRIPE_KEY"); status != 200 || body != secretValues["STRIPE_KEY"] {
		t.Errorf("after the rotation the api has STRIPE_KEY=%q (%d)", body, status)
	}

	// A restart starts the release again with its values.
	if err := f.srv.stop(); err != nil {
		t.Fatal(err)
	}
	f.start()
	waitUntil(t, "the api to answer again with its secret", func() bool {
		status, body := f.get("api", "/env/DATABASE_URL")
		return status == 200 && body == secretValues["DATABASE_URL"]
	})
}
