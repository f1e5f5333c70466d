package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/container/containertest"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// flightcontrolFile is written as Flightcontrol users write theirs:
// generated mixed-case ids, "fargate" and "fargate-worker" types,
// nixpacks, AWS settings, a Docker service and a database beside the
// services Liftoff runs.
func flightcontrolFile() string {
	return `{"$schema": "https://app.flightcontrol.dev/schema.json", "environments": [{
  "id": "production-Xk2p9Q", "name": "Production", "region": "us-east-1",
  "source": {"branch": "main"},
  "services": [
    {"id": "Api-1-Aah3Lq", "name": "API", "type": "fargate", "buildType": "nixpacks", "cpu": 0.5, "memory": 1,
     "minInstances": 1, "maxInstances": 2, "basePath": "api", "startCommand": "` + webserver + `",
     "healthCheckPath": "/health", "sidecars": [], "dockerLabels": {"team": "api"}},
    {"id": "jobs", "name": "Jobs", "type": "fargate-worker", "cpu": 0.25, "memory": 0.5, "startCommand": "exec sleep 3600"},
    {"id": "app", "name": "App", "type": "fargate", "buildType": "docker", "dockerfilePath": "Dockerfile"},
    {"id": "db", "name": "DB", "type": "rds", "engine": "postgres", "engineVersion": "16", "instanceSize": "db.t4g.micro"},
    {"id": "astro-app-ntvIGO", "name": "Site", "type": "static", "buildType": "nixpacks", "basePath": "site",
     "buildCommand": "mkdir -p dist && cp index.html dist/", "outputDirectory": "dist", "cloudfrontAutoCacheInvalidation": true}
  ]
}]}`
}

// TestFlightcontrolFileDeploys: a flightcontrol.json is read as it is:
// the services Liftoff runs deploy and answer at lowercase host names,
// the Docker service as a container built from its Dockerfile; the
// database is listed as not deployed with its reason; the AWS settings
// are reported, never refused.
func TestFlightcontrolFileDeploys(t *testing.T) {
	t.Parallel()
	// The Docker service runs on podman, from the tests' busybox image.
	cli := containertest.CLI(t)
	f := &fixture{t: t, logs: &logLines{}}
	f.flags = storeFlags(t, "sqlite", t.TempDir())
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{
		"flightcontrol.json": flightcontrolFile(),
		"api/version.txt":    "fc api",
		"site/index.html":    "<h1>fc site</h1>",
		"Dockerfile": "FROM " + containertest.BaseImage + "\nRUN mkdir -p /www && echo 'fc app in a container' > /www/index.html\n" +
			"CMD [\"/bin/sh\", \"-c\", \"exec httpd -f -p $PORT -h /www\"]\n",
	})
	ctx := context.Background()
	var err error
	if f.project, err = f.c.CreateProject(ctx, "fc", f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	// A stopping Liftoff leaves its containers running, for its next
	// start: the test's go when it ends.
	containertest.Cleanup(t, cli, "liftoff.project", f.project.ProjectID)
	warnings := strings.Join(f.project.Warnings, "\n")
	for _, want := range []string{
		`/environments/0/services/0/cpu: not applicable on Liftoff`,
		`/environments/0/services/0/sidecars: not applicable on Liftoff`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("project warnings lack %q:\n%s", want, warnings)
		}
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	d := f.wait(f.call(""))
	if d.Status != "SUCCESS" {
		t.Fatalf("deployment ended %s %+v", d.Status, d.Error)
	}
	for id, want := range map[string]string{
		"Api-1-Aah3Lq":     "SUCCESS web",
		"jobs":             "SUCCESS worker",
		"astro-app-ntvIGO": "SUCCESS static",
		"app":              "SUCCESS web",
		"db":               "NO_CHANGE rds not deployed: no managed PostgreSQL configured (liftoff serve --managed-postgres-url)",
	} {
		s := service(t, d, id)
		got := s.Status + " " + s.Service.Type
		if r := reason(s); strings.HasPrefix(r, "not deployed") {
			got += " " + r
		}
		if got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	for host, want := range map[string]string{
		"app.production-xk2p9q.localhost":              "fc app in a container",
		"api-1-aah3lq.production-xk2p9q.localhost":     "fc api",
		"astro-app-ntvigo.production-xk2p9q.localhost": "fc site",
	} {
		if status, body := f.getHost(host, "/"); status != 200 || !strings.Contains(body, want) {
			t.Errorf("%s answers %d %q, want %q", host, status, body, want)
		}
	}
}
