package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// newTestParser builds a Parser or stops the test.
func newTestParser(t testing.TB) *Parser {
	t.Helper()
	p, err := NewParser()
	if err != nil {
		t.Fatalf("NewParser: %v", err)
	}
	return p
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Building blocks for small documents. Each is valid on its own: a case
// changes one thing.
const apiService = `{"id": "api", "type": "web", "startCommand": "npm start"}`

func fileWith(envs ...string) string {
	return `{"environments": [` + strings.Join(envs, ",") + `]}`
}

func envWith(services ...string) string {
	return `{"id": "production", "source": {"branch": "main"}, "services": [` + strings.Join(services, ",") + `]}`
}

// withService is a file whose one environment holds apiService and svc.
func withService(svc string) string { return fileWith(envWith(apiService, svc)) }

func TestParseValidFlightcontrolFile(t *testing.T) {
	t.Parallel()
	f, problems, err := newTestParser(t).Parse(readTestdata(t, "valid/flightcontrol.json"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n := errorCount(problems); n != 0 {
		t.Fatalf("%d errors: %v", n, problems)
	}

	t.Run("root env", func(t *testing.T) {
		t.Parallel()
		if got := f.EnvVariables["FEATURE_FLAGS"]; got.Value != "true" || !got.Applicable() {
			t.Errorf("FEATURE_FLAGS = %+v, want the literal true", got)
		}
	})
	t.Run("production", func(t *testing.T) {
		t.Parallel()
		prod, ok := f.Environment("production")
		if !ok {
			t.Fatal("no production environment")
		}
		if prod.IsPreview() || prod.Source.Branch != "main" || prod.Source.Trigger != TriggerPush {
			t.Errorf("source = %+v, want branch main, trigger push", prod.Source)
		}
		if len(prod.Services) != 4 {
			t.Fatalf("%d services, want 4", len(prod.Services))
		}
		api, ok := prod.Service("api")
		if !ok {
			t.Fatal("no api service")
		}
		if api.BasePath != "apps/api" || api.Port != 8080 || api.HealthCheckPath != "/healthz" {
			t.Errorf("api = basePath %q port %d health %q", api.BasePath, api.Port, api.HealthCheckPath)
		}
		if !api.Target.IsDefault() || api.HealthCheckTimeoutSecs != 30 || api.VersionHistoryCount != 10 || api.BuildTimeoutSecs != 1800 {
			t.Errorf("api defaults not applied: %+v", api)
		}
		if got := api.EnvVariables["WORKERS"].Value; got != "4" {
			t.Errorf("WORKERS = %q, want the JSON text 4", got)
		}
		if api.EnvVariables["DATABASE_URL"].From != "fromService" {
			t.Errorf("DATABASE_URL = %+v, want a fromService value", api.EnvVariables["DATABASE_URL"])
		}
		web, _ := prod.Service("web")
		if web.OutputDirectory != "dist" || !web.SinglePageApp || web.Port != DefaultPort {
			t.Errorf("web = %+v", web)
		}
		db, _ := prod.Service("db")
		if db.Runnable() {
			t.Error("db (rds) is runnable")
		}
		var runnable []string
		for _, s := range prod.RunnableServices() {
			runnable = append(runnable, s.ID)
		}
		if got := strings.Join(runnable, ","); got != "api,jobs,web" {
			t.Errorf("RunnableServices = %s, want api,jobs,web", got)
		}
	})
	t.Run("staging", func(t *testing.T) {
		t.Parallel()
		staging, ok := f.Environment("staging")
		if !ok {
			t.Fatal("no staging environment")
		}
		api := staging.Services[0]
		if staging.Source.Trigger != TriggerManual {
			t.Errorf("trigger = %q, want manual", staging.Source.Trigger)
		}
		if api.Target != (Target{Type: TargetCommand, DeployCommand: "flyctl deploy --app api-staging"}) {
			t.Errorf("target = %+v", api.Target)
		}
		if api.HealthCheckTimeoutSecs != 60 || api.VersionHistoryCount != 3 || api.BuildTimeoutSecs != 600 {
			t.Errorf("explicit values replaced: %+v", api)
		}
	})
	t.Run("preview", func(t *testing.T) {
		t.Parallel()
		preview, ok := f.Environment("preview")
		if !ok {
			t.Fatal("no preview environment")
		}
		if !preview.IsPreview() || preview.Source.Branch != "" || preview.PreviewTTLHours != 72 {
			t.Errorf("preview = %+v", preview)
		}
		if preview.Source.Filter == nil || preview.Source.Filter.ToBranches[0] != "main" {
			t.Errorf("filter = %+v", preview.Source.Filter)
		}
		api := preview.Services[0]
		if api.Name != "api" || api.Port != 3000 || api.HealthCheckPath != "/" || api.BasePath != "apps/api" {
			t.Errorf("defaults not applied: %+v", api)
		}
		if !api.Target.IsDefault() {
			t.Errorf("fargate target read as %q, want the operator's default", api.Target.Type)
		}
	})
	t.Run("unknown environment", func(t *testing.T) {
		t.Parallel()
		if _, ok := f.Environment("nope"); ok {
			t.Error("found environment nope")
		}
	})
	t.Run("warnings", func(t *testing.T) {
		t.Parallel()
		want := []string{
			"/environments/0/region: not applicable on Liftoff (a Flightcontrol-only setting); ignored",
			"/environments/0/services/0/cpu: not applicable on Liftoff (a Flightcontrol-only setting); ignored",
			"/environments/0/services/0/maxInstances: not applicable on Liftoff (a Flightcontrol-only setting); ignored",
			"/environments/0/services/0/memory: not applicable on Liftoff (a Flightcontrol-only setting); ignored",
			`/environments/2/services/0/target/type: target type "fargate" is Flightcontrol's; the service runs on the operator's default target (local, unless Liftoff runs with a default Kubernetes cluster)`,
		}
		got := make([]string, len(problems))
		for i, p := range problems {
			got[i] = p.String()
			if p.Severity != SeverityWarning {
				t.Errorf("%s: severity %v, want warning", p, p.Severity)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestParseValidDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, f *File)
	}{
		{
			name:  "minimal file gets every default",
			input: string(readTestdata(t, "valid/minimal.json")),
			check: func(t *testing.T, f *File) {
				env := f.Environments[0]
				if env.Name != "production" || env.Source.Trigger != TriggerPush {
					t.Errorf("environment = %+v", env)
				}
				want := Service{
					ID: "app", Name: "app", Type: TypeWeb, StartCommand: Shell("npm start"),
					BasePath: ".", Port: 3000, HealthCheckPath: "/", HealthCheckTimeoutSecs: 30, HealthCheckIntervalSecs: 10,
					VersionHistoryCount: 10, BuildTimeoutSecs: 1800, Target: Target{},
				}
				if got := env.Services[0]; !reflect.DeepEqual(got, want) {
					t.Errorf("service =\n%+v\nwant\n%+v", got, want)
				}
			},
		},
		{
			name:  "static service defaults its output directory",
			input: withService(`{"id": "site", "type": "static", "basePath": "./site/"}`),
			check: func(t *testing.T, f *File) {
				s := f.Environments[0].Services[1]
				if s.OutputDirectory != DefaultOutputDirectory || s.BasePath != "site" {
					t.Errorf("outputDirectory %q basePath %q, want public and site", s.OutputDirectory, s.BasePath)
				}
			},
		},
		{
			name:  "whole numbers written as decimals",
			input: withService(`{"id": "w", "type": "worker", "startCommand": "w", "port": 8080.0, "versionHistoryCount": 2e1}`),
			check: func(t *testing.T, f *File) {
				s := f.Environments[0].Services[1]
				if s.Port != 8080 || s.VersionHistoryCount != 20 {
					t.Errorf("port %d versionHistoryCount %d, want 8080 and 20", s.Port, s.VersionHistoryCount)
				}
			},
		},
		{
			name:  "environment variables keep their JSON text",
			input: `{"envVariables": {"A": "x", "B": 1.50, "C": false, "D": -2e3}, "environments": [` + envWith(apiService) + `]}`,
			check: func(t *testing.T, f *File) {
				got := MergeEnv(f.EnvVariables)
				want := map[string]string{"A": "x", "B": "1.50", "C": "false", "D": "-2e3"}
				if !maps.Equal(got, want) {
					t.Errorf("env = %v, want %v", got, want)
				}
			},
		},
		{
			name:  "preview environment without branch",
			input: fileWith(`{"id": "preview", "source": {"pr": true}, "services": [` + apiService + `]}`),
			check: func(t *testing.T, f *File) {
				if env := f.Environments[0]; !env.IsPreview() || env.Source.Trigger != TriggerPush {
					t.Errorf("environment = %+v", env)
				}
			},
		},
		{
			name:  "Flightcontrol's generated ids, mixed case with a suffix",
			input: fileWith(`{"id": "production-Xk2p9Q", "source": {"branch": "main"}, "services": [{"id": "api-1-Aah3Lq", "type": "web", "startCommand": "npm start"}, {"id": "astro-app-ntvIGO", "type": "static"}]}`),
			check: func(t *testing.T, f *File) {
				env := f.Environments[0]
				if env.ID != "production-Xk2p9Q" || env.Services[0].ID != "api-1-Aah3Lq" || env.Services[1].ID != "astro-app-ntvIGO" {
					t.Errorf("ids = %q, %q, %q; want them as written", env.ID, env.Services[0].ID, env.Services[1].ID)
				}
			},
		},
		{
			name: "Flightcontrol's fargate, fargate-worker and fargate-scheduler run as web, worker and scheduler",
			input: withService(`{"id": "api2", "type": "fargate", "startCommand": "node server.js", "buildType": "nixpacks"}, {"id": "jobs", "type": "fargate-worker", "startCommand": "node worker.js"}, ` +
				`{"id": "cron", "type": "fargate-scheduler", "jobs": {"billing": {"startCommand": "php artisan run:billing-cycle", "schedule": "0 1 * * *"}}}`),
			check: func(t *testing.T, f *File) {
				env := f.Environments[0]
				if s := env.Services[1]; s.Type != TypeWeb || !s.Runnable() {
					t.Errorf("fargate read as %q (runnable %v), want a runnable web service", s.Type, s.Runnable())
				}
				if s := env.Services[2]; s.Type != TypeWorker || !s.Runnable() {
					t.Errorf("fargate-worker read as %q (runnable %v), want a runnable worker", s.Type, s.Runnable())
				}
				if s := env.Services[3]; s.Type != TypeScheduler || !s.Runnable() || len(s.Jobs) != 1 {
					t.Errorf("fargate-scheduler read as %q (runnable %v, %d jobs), want a runnable scheduler with its job", s.Type, s.Runnable(), len(s.Jobs))
				}
				if got := len(env.RunnableServices()); got != 4 {
					t.Errorf("%d runnable services, want 4", got)
				}
			},
		},
		{
			name:  "command target needs no start command",
			input: withService(`{"id": "k8s", "type": "web", "target": {"type": "command", "deployCommand": "kubectl apply -f k8s/"}}`),
			check: func(t *testing.T, f *File) {
				if s := f.Environments[0].Services[1]; s.Target.Type != TargetCommand {
					t.Errorf("target = %+v", s.Target)
				}
			},
		},
		{
			name:  "byte order mark and $schema",
			input: "\ufeff" + `{"$schema": "https://liftoff.dev/schemas/liftoff.json", "environments": [` + envWith(apiService) + `]}`,
			check: func(t *testing.T, f *File) {
				if len(f.Environments) != 1 {
					t.Errorf("environments = %+v", f.Environments)
				}
			},
		},
	}
	p := newTestParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, problems, err := p.Parse([]byte(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(problems) != 0 {
				t.Fatalf("problems: %v", problems)
			}
			tt.check(t, f)
		})
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	const (
		E = SeverityError
		W = SeverityWarning
	)
	// want is one expected problem: its exact path and severity, and words
	// its message must contain.
	type want struct {
		path     string
		severity Severity
		message  string
	}
	long := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		input string
		want  []want
	}{
		// The file as a whole.
		{"not an object", `[]`, []want{{"", E, "must be an object, not an array"}}},
		{"no environments", `{}`, []want{{"", E, `missing required field "environments"`}}},
		{"empty environments", `{"environments": []}`, []want{{"/environments", E, "at least one environment is required"}}},
		{"environments not an array", `{"environments": {}}`, []want{{"/environments", E, "must be an array, not an object"}}},
		{"number too large to validate", withService(`{"id": "w", "type": "web", "startCommand": "w", "port": 1e999999}`),
			[]want{{"/environments/0/services/1/port", E, "the number 1e999999 is too large for a configuration file"}}},
		{"unknown top-level field", `{"version": 2, "environments": [` + envWith(apiService) + `]}`,
			[]want{{"/version", W, "unknown field, ignored"}}},
		{"duplicate key", `{"environments": [], "environments": [` + envWith(apiService) + `]}`,
			[]want{{"/environments", W, `duplicate key "environments": the last value is used`}}},
		{"root envVariables not an object", `{"envVariables": [], "environments": [` + envWith(apiService) + `]}`,
			[]want{{"/envVariables", E, "must be an object, not an array"}}},

		// Environments.
		{"environment without id", fileWith(`{"source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0", E, `missing required field "id"`}}},
		{"environment ids that differ only in case", fileWith(`{"id": "Production", "source": {"branch": "main"}, "services": [`+apiService+`]}`,
			`{"id": "production", "source": {"branch": "release"}, "services": [`+apiService+`]}`),
			[]want{{"/environments/1/id", E, `environment ids "production" and "Production" (environment 0) differ only in case`}}},
		{"service ids that differ only in case", withService(`{"id": "API", "type": "worker", "startCommand": "w"}`),
			[]want{{"/environments/0/services/1/id", E, `service ids "API" and "api" (service 0) differ only in case`}}},
		{"an upper-case preview key", fileWith(`{"id": "PR-7", "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/id", E, `environment id "PR-7" is reserved`}}},
		{"environment id starting with a dash", fileWith(`{"id": "-prod", "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/id", E, "is not a valid id"}}},
		{"environment id too long", fileWith(`{"id": "` + long + `", "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/id", E, "at most 63 characters"}}},
		{"an environment id shaped like a preview's host label", fileWith(strings.Replace(envWith(apiService), `"production"`, `"pr-7"`, 1)),
			[]want{{"/environments/0/id", E, `environment id "pr-7" is reserved: preview instances' host names use pr-<number>`}}},
		{"duplicate environment ids", fileWith(envWith(apiService), envWith(apiService)),
			[]want{{"/environments/1/id", E, `duplicate environment id "production": environment 0 has it too`}}},
		{"environment without source", fileWith(`{"id": "production", "services": [` + apiService + `]}`),
			[]want{{"/environments/0", E, `missing required field "source"`}}},
		{"normal environment without branch", fileWith(`{"id": "production", "source": {}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source", E, `missing "branch"`}}},
		{"unknown trigger", fileWith(`{"id": "production", "source": {"branch": "main", "trigger": "auto"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source/trigger", E, `must be "push" or "manual", not "auto"`}}},
		{"negative preview ttl", fileWith(`{"id": "preview", "source": {"pr": true}, "previewTtlHours": -1, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/previewTtlHours", E, "must be between 0 and 8760"}}},
		{"invalid filter watch path", fileWith(`{"id": "preview", "source": {"pr": true, "filter": {"watchPaths": ["{a,b"]}}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source/filter/watchPaths/0", E, `"{a,b" is not a valid glob pattern`}}},
		{"services not an array", fileWith(`{"id": "production", "source": {"branch": "main"}, "services": {}}`),
			[]want{{"/environments/0/services", E, "must be an array, not an object"}}},
		{"region", fileWith(`{"id": "production", "region": "eu-west-1", "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/region", W, "not applicable on Liftoff"}}},
		{"unknown environment field", fileWith(`{"id": "production", "sorce": {}, "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/sorce", W, `unknown field, ignored (did you mean "source"?)`}}},
		{"branch of a preview environment", fileWith(`{"id": "preview", "source": {"pr": true, "branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source/branch", W, "ignored for a preview environment"}}},
		{"filter of a normal environment", fileWith(`{"id": "production", "source": {"branch": "main", "filter": {"labels": ["x"]}}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source/filter", W, "only applies to preview environments"}}},
		{"preview ttl of a normal environment", fileWith(`{"id": "production", "previewTtlHours": 24, "source": {"branch": "main"}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/previewTtlHours", W, "only applies to preview environments"}}},
		{"no services", fileWith(`{"id": "production", "source": {"branch": "main"}}`),
			[]want{{"/environments/0", W, `environment "production" has no service Liftoff runs`}}},
		{"only services Liftoff does not run", fileWith(envWith(`{"id": "db", "type": "rds"}`)),
			[]want{
				{"/environments/0/services", W, `environment "production" has no service Liftoff runs`},
				{"/environments/0/services/0/type", W, `service "db" has type "rds", which is not applicable on Liftoff`},
			}},

		// Services.
		{"service without id", withService(`{"type": "worker", "startCommand": "w"}`),
			[]want{{"/environments/0/services/1", E, `missing required field "id"`}}},
		{"service without type", withService(`{"id": "w", "startCommand": "w"}`),
			[]want{{"/environments/0/services/1", E, `missing required field "type"`}}},
		{"service type Liftoff cannot run", withService(`{"id": "api2", "type": "foo"}`),
			[]want{{"/environments/0/services/1/type", E, `service "api2" has type "foo", which Liftoff cannot run; use one of web, web-private, worker, static, scheduler`}}},
		{"service id with a dot", withService(`{"id": "api.v2", "type": "worker", "startCommand": "w"}`),
			[]want{{"/environments/0/services/1/id", E, `"api.v2" is not a valid id`}}},
		{"duplicate service ids", withService(apiService),
			[]want{{"/environments/0/services/1/id", E, `duplicate service id "api" in environment "production": service 0 has it too`}}},
		{"dependsOn unknown service", withService(`{"id": "w", "type": "worker", "startCommand": "w", "dependsOn": ["api", "db"]}`),
			[]want{{"/environments/0/services/1/dependsOn/1", E, `service "w" depends on "db", which is not a service of environment "production"`}}},
		{"dependsOn cycle", string(readTestdata(t, "invalid/cycle.json")),
			[]want{{"/environments/0/services/0/dependsOn/0", E, "dependsOn cycle: a -> b -> c -> a"}}},
		{"dependsOn itself", withService(`{"id": "w", "type": "worker", "startCommand": "w", "dependsOn": ["w"]}`),
			[]want{{"/environments/0/services/1/dependsOn/0", E, "dependsOn cycle: w -> w"}}},
		{"dependsOn a service Liftoff does not run", fileWith(envWith(`{"id": "db", "type": "rds"}`, `{"id": "api", "type": "web", "startCommand": "s", "dependsOn": ["db"]}`)),
			[]want{
				{"/environments/0/services/0/type", W, "not applicable on Liftoff"},
				{"/environments/0/services/1/dependsOn/0", W, `"db" has type "rds", which Liftoff does not run; the dependency is ignored`},
			}},
		{"port too large", withService(`{"id": "w", "type": "web", "startCommand": "w", "port": 65536}`),
			[]want{{"/environments/0/services/1/port", E, "must be between 1 and 65535"}}},
		{"port as a string", withService(`{"id": "w", "type": "web", "startCommand": "w", "port": "8080"}`),
			[]want{{"/environments/0/services/1/port", E, "must be an integer, not a string"}}},
		{"port with a fraction", withService(`{"id": "w", "type": "web", "startCommand": "w", "port": 80.5}`),
			[]want{{"/environments/0/services/1/port", E, "must be a whole number"}}},
		{"health check path without slash", withService(`{"id": "w", "type": "web", "startCommand": "w", "healthCheckPath": "health"}`),
			[]want{{"/environments/0/services/1/healthCheckPath", E, `"health" must start with "/"`}}},
		{"health check timeout zero", withService(`{"id": "w", "type": "web", "startCommand": "w", "healthCheckTimeoutSecs": 0}`),
			[]want{{"/environments/0/services/1/healthCheckTimeoutSecs", E, "must be between 1 and 3600"}}},
		{"health check interval too long", withService(`{"id": "w", "type": "web", "startCommand": "w", "healthCheckIntervalSecs": 301}`),
			[]want{{"/environments/0/services/1/healthCheckIntervalSecs", E, "must be between 1 and 300"}}},
		{"version history zero", withService(`{"id": "w", "type": "web", "startCommand": "w", "versionHistoryCount": 0}`),
			[]want{{"/environments/0/services/1/versionHistoryCount", E, "must be between 1 and 1000"}}},
		{"build timeout too long", withService(`{"id": "w", "type": "web", "startCommand": "w", "buildTimeoutSecs": 90000}`),
			[]want{{"/environments/0/services/1/buildTimeoutSecs", E, "must be between 1 and 86400"}}},
		{"empty exec-form start command", withService(`{"id": "w", "type": "web", "startCommand": []}`),
			[]want{
				{"/environments/0/services/1", W, `service "w" is accepted and not deployed: it has no "startCommand"`},
				{"/environments/0/services/1/startCommand", E, `"startCommand" is an empty array: give the program and its arguments`},
			}},
		{"empty argument of an exec-form command", withService(`{"id": "w", "type": "web", "startCommand": "w", "preDeployCommand": ["migrate", ""]}`),
			[]want{{"/environments/0/services/1/preDeployCommand/1", E, "must not be empty"}}},
		{"exec-form command with a number", withService(`{"id": "w", "type": "web", "startCommand": "w", "postDeployCommand": ["notify", 3]}`),
			[]want{{"/environments/0/services/1/postDeployCommand/1", E, "must be a string, not a number"}}},
		{"command as an object", withService(`{"id": "w", "type": "web", "startCommand": {"run": "w"}}`),
			[]want{
				{"/environments/0/services/1", W, `service "w" is accepted and not deployed: it has no "startCommand"`},
				{"/environments/0/services/1/startCommand", E, "must be a string or an array, not an object"},
			}},
		{"command target without deployCommand", withService(`{"id": "w", "type": "web", "target": {"type": "command"}}`),
			[]want{{"/environments/0/services/1/target", E, `missing "deployCommand"`}}},
		{"unknown target type", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"type": "k8s"}}`),
			[]want{{"/environments/0/services/1/target/type", E, `target type "k8s" is not supported; use "local", "command" or "kubernetes"`}}},
		{"no start command", withService(`{"id": "w", "type": "worker"}`),
			[]want{{"/environments/0/services/1", W, `service "w" is accepted and not deployed: it has no "startCommand"`}}},
		{"a nixpacks service without commands", withService(`{"id": "w", "type": "web", "buildType": "nixpacks"}`),
			[]want{{"/environments/0/services/1", W, `does not detect them as Flightcontrol's nixpacks builds do; add "startCommand"`}}},
		{"a Docker web service needs no start command", withService(`{"id": "d", "type": "web", "buildType": "docker", "dockerfilePath": "Dockerfile"}`), nil},
		{"a Dockerfile outside the repository", withService(`{"id": "d", "type": "web", "buildType": "docker", "dockerfilePath": "../Dockerfile", "dockerContext": "/../x"}`),
			[]want{{"/environments/0/services/1/dockerContext", E, "leaves the repository"}, {"/environments/0/services/1/dockerfilePath", E, "leaves the repository"}}},
		{"Docker fields without a docker build", withService(`{"id": "d", "type": "web", "startCommand": "s", "dockerfilePath": "Dockerfile", "injectEnvVariablesInDockerfile": false}`),
			[]want{{"/environments/0/services/1/dockerfilePath", W, `only applies to a service with "buildType": "docker"`},
				{"/environments/0/services/1/injectEnvVariablesInDockerfile", W, `only applies to a service with "buildType": "docker"`}}},
		{"build commands of a docker build", withService(`{"id": "d", "type": "worker", "buildType": "docker", "buildCommand": "make"}`),
			[]want{{"/environments/0/services/1/buildCommand", W, "a docker build runs its Dockerfile instead"}}},
		{"a dependency on a Docker service", withService(`{"id": "d", "type": "web", "buildType": "docker"}, {"id": "w", "type": "worker", "startCommand": "w", "dependsOn": ["d"]}`), nil},
		{"a dependency on a prebuilt static image", withService(`{"id": "d", "type": "static", "containerImage": {"repository": "redis", "tag": "7"}}, {"id": "w", "type": "worker", "startCommand": "w", "dependsOn": ["d"]}`),
			[]want{{"/environments/0/services/1", W, `service "d" is accepted and not deployed`},
				{"/environments/0/services/2/dependsOn/0", W, `"d" is not deployed (a static site is built from its commands or from its Dockerfile ("buildType": "docker"); a prebuilt containerImage is for web, web-private, worker and scheduler services); the dependency is ignored`}}},
		{"a static site from a Dockerfile", withService(`{"id": "s", "type": "static", "buildType": "docker", "outputDirectory": "/usr/share/nginx/html"}, {"id": "t", "type": "static", "buildType": "docker", "outputDirectory": "../dist"}`), nil},
		{"an invalid branch pattern", fileWith(`{"id": "preview", "source": {"pr": true, "filter": {"toBranches": ["main", "release/[1"], "fromBranches": ["feature/{a"]}}, "services": [` + apiService + `]}`),
			[]want{{"/environments/0/source/filter/fromBranches/0", W, `"feature/{a" is not a valid glob pattern`},
				{"/environments/0/source/filter/toBranches/1", W, `"release/[1" is not a valid glob pattern (look for an unclosed "[" or "{", or a trailing "\"): it matches no branch`}}},
		{"a prebuilt image of a scheduler", withService(`{"id": "i", "type": "scheduler", "containerImage": {"repository": "busybox", "tag": "1"},
			"jobs": {"ls": {"startCommand": "ls", "schedule": "manual"}, "cmd": {"schedule": "0 3 * * *"}}}`), nil},
		{"a scheduler from a Dockerfile, a job without startCommand", withService(`{"id": "i", "type": "scheduler", "buildType": "docker",
			"jobs": {"cmd": {"schedule": "0 3 * * *"}}}`), nil},
		{"base path leaving the repository", withService(`{"id": "w", "type": "worker", "startCommand": "w", "basePath": "apps/../../etc"}`),
			[]want{{"/environments/0/services/1/basePath", E, `"apps/../../etc" leaves the repository`}}},
		{"output directory leaving the repository", withService(`{"id": "s", "type": "static", "basePath": "site", "outputDirectory": "../../out"}`),
			[]want{{"/environments/0/services/1/outputDirectory", E, `"../../out" leaves the repository`}}},
		{"cache directories", withService(`{"id": "w", "type": "worker", "startCommand": "w", "basePath": "apps/web",
			"cacheDirectories": ["node_modules", "/root/.cache", ".", "./", "../../../out", "../../shared/cache", "node_modules/", "node_modules/.cache", ""]}`),
			[]want{{"/environments/0/services/1/cacheDirectories/1", E, `"/root/.cache" is absolute; use a path relative to basePath ("apps/web")`},
				{"/environments/0/services/1/cacheDirectories/2", E, `"." is the whole of basePath`},
				{"/environments/0/services/1/cacheDirectories/3", E, `"./" is the whole of basePath`},
				{"/environments/0/services/1/cacheDirectories/4", E, `"../../../out" leaves the repository`},
				{"/environments/0/services/1/cacheDirectories/6", W, `"node_modules/" is listed already (cacheDirectories[0]); ignored`},
				{"/environments/0/services/1/cacheDirectories/7", W, `"node_modules/.cache" is inside "node_modules", which is cached whole; ignored`},
				{"/environments/0/services/1/cacheDirectories/8", E, "must not be empty"}}},
		{"cache directories of a docker build", withService(`{"id": "d", "type": "web", "buildType": "docker", "cacheDirectories": ["node_modules"]}`),
			[]want{{"/environments/0/services/1/cacheDirectories", W, "a docker build keeps the cache mounts of its Dockerfile's RUN --mount=type=cache instead"}}},
		{"invalid watch path", withService(`{"id": "w", "type": "worker", "startCommand": "w", "watchPaths": ["apps/**", "apps/[w"]}`),
			[]want{{"/environments/0/services/1/watchPaths/1", E, `"apps/[w" is not a valid glob pattern`}}},
		{"empty watch path", withService(`{"id": "w", "type": "worker", "startCommand": "w", "watchPaths": [""]}`),
			[]want{{"/environments/0/services/1/watchPaths/0", E, "must not be empty"}}},
		{"watch path that is only an exclusion", withService(`{"id": "w", "type": "worker", "startCommand": "w", "watchPaths": ["!./"]}`),
			[]want{{"/environments/0/services/1/watchPaths/0", E, "nothing is left"}}},
		{"invalid environment variable name", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"1BAD": "x"}}`),
			[]want{{"/environments/0/services/1/envVariables/1BAD", E, `"1BAD" is not a valid environment variable name`}}},
		{"environment variable name with a slash", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"A/B": "x"}}`),
			[]want{{"/environments/0/services/1/envVariables/A~1B", E, `"A/B" is not a valid environment variable name`}}},
		{"environment variable array value", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"A": ["x"]}}`),
			[]want{{"/environments/0/services/1/envVariables/A", E, "must be a string, a number, a boolean, {\"fromParameterStore\""}}},
		{"environment variable null value", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"A": null}}`),
			[]want{{"/environments/0/services/1/envVariables/A", E, "must be a string, a number, a boolean, {\"fromParameterStore\""}}},
		{"environment variable unknown object form", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"A": {"fromVault": "x"}}}`),
			[]want{{"/environments/0/services/1/envVariables/A", E, "must be a string, a number, a boolean, {\"fromParameterStore\""}}},
		{"fromService value", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"DB": {"fromService": {"id": "db", "value": "dbConnectionString"}}}}`),
			nil},
		{"fromService value without its value", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"DB": {"fromService": {"id": "db"}}}}`),
			[]want{{"/environments/0/services/1/envVariables/DB", E, `{"fromService": {"id": "<service>", "value": "<host, origin, port`}}},
		{"fromParameterStore not a name", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"DB": {"fromParameterStore": 3}}}`),
			[]want{{"/environments/0/services/1/envVariables/DB", E, `{"fromParameterStore": "<secret name>"}`}}},
		{"fromSecretsManager value", withService(`{"id": "w", "type": "worker", "startCommand": "w", "envVariables": {"KEY": {"fromSecretsManager": "arn:aws:secretsmanager:x"}}}`),
			nil},
		{"AWS-only service field", withService(`{"id": "w", "type": "worker", "startCommand": "w", "cpu": 2}`),
			[]want{{"/environments/0/services/1/cpu", W, "not applicable on Liftoff"}}},
		{"misspelt service field", withService(`{"id": "w", "type": "web", "startCommand": "w", "prot": 80}`),
			[]want{{"/environments/0/services/1/prot", W, `unknown field, ignored (did you mean "port"?)`}}},
		{"field in the wrong case", withService(`{"id": "w", "type": "web", "startCommand": "w", "Port": "x"}`),
			[]want{{"/environments/0/services/1/Port", W, `unknown field, ignored (did you mean "port"?)`}}},
		{"fields of a service Liftoff does not run", withService(`{"id": "db", "type": "s3", "cpu": 1}`),
			[]want{{"/environments/0/services/1/type", W, `service "db" has type "s3", which is not applicable on Liftoff`}}},
		{"an rds engine Liftoff does not manage", withService(`{"id": "db", "type": "rds", "engine": "mysql", "instanceSize": "db.t4g.micro"}`),
			[]want{{"/environments/0/services/1/engine", W, `service "db" is accepted and not deployed: engine mysql: Liftoff manages PostgreSQL databases only`}}},
		{"a preview seeded from production's database", fileWith(envWith(apiService, `{"id": "db", "type": "rds", "engine": "postgres"}`),
			`{"id": "preview", "source": {"pr": true}, "services": [`+apiService+`, {"id": "db", "type": "rds", "engine": "postgres", "seedFromEnvironment": "production"}]}`),
			nil},
		{"a seed from an environment the file lacks", fileWith(envWith(apiService, `{"id": "db", "type": "rds", "engine": "postgres"}`),
			`{"id": "preview", "source": {"pr": true}, "services": [`+apiService+`, {"id": "db", "type": "rds", "engine": "postgres", "seedFromEnvironment": "staging"}]}`),
			[]want{{"/environments/1/services/1/seedFromEnvironment", E, `"staging" is not an environment of this file`}}},
		{"a seed from an environment without that database", fileWith(envWith(apiService, `{"id": "main", "type": "rds", "engine": "postgres"}`),
			`{"id": "preview", "source": {"pr": true}, "services": [`+apiService+`, {"id": "db", "type": "rds", "engine": "postgres", "seedFromEnvironment": "production"}]}`),
			[]want{{"/environments/1/services/1/seedFromEnvironment", E, `environment "production" has no rds postgres service "db"`}}},
		{"a seed of a normal environment", fileWith(envWith(apiService, `{"id": "db", "type": "rds", "engine": "postgres", "seedFromEnvironment": "production"}`)),
			[]want{{"/environments/0/services/1/seedFromEnvironment", E, `only a preview environment's database is seeded`}}},
		{"a seed of a Redis user", fileWith(envWith(apiService, `{"id": "db", "type": "rds", "engine": "postgres"}`),
			`{"id": "preview", "source": {"pr": true}, "services": [`+apiService+`, {"id": "db", "type": "elasticache", "seedFromEnvironment": "production"}]}`),
			[]want{{"/environments/1/services/1/seedFromEnvironment", E, `only an rds service with "engine": "postgres" is seeded`}}},
		{"a managed database's AWS settings are no news", withService(`{"id": "db", "type": "rds", "engine": "postgres", "engineVersion": "16", "instanceSize": "db.t4g.micro", "cpu": 1}`),
			nil},
		{"settings of a fargate service are reported one by one, as it runs", withService(`{"id": "f", "type": "fargate", "startCommand": "f", "cpu": 1, "sidecars": [], "stickySessionsEnabled": true, "sidecar": []}`),
			[]want{{"/environments/0/services/1/cpu", W, "not applicable on Liftoff"},
				{"/environments/0/services/1/sidecar", W, `unknown field, ignored (did you mean "sidecars"?)`},
				{"/environments/0/services/1/sidecars", W, "not applicable on Liftoff"},
				{"/environments/0/services/1/stickySessionsEnabled", W, "not applicable on Liftoff"}}},
		{"fargate without a start command", withService(`{"id": "old", "type": "fargate"}`),
			[]want{{"/environments/0/services/1", W, `service "old" is accepted and not deployed: it has no "startCommand": Liftoff runs a web service's own commands`}}},
		{"Flightcontrol target", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"type": "ecs-ec2", "clusterInstanceSize": "t3.medium"}}`),
			[]want{{"/environments/0/services/1/target/type", W, `target type "ecs-ec2" is Flightcontrol's; the service runs on the operator's default target`}}},
		{"deployCommand of a local target", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"deployCommand": "x"}}`),
			[]want{{"/environments/0/services/1/target/deployCommand", W, `only used by a target of type "command"`}}},
		{"kubernetes settings of a local target", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"type": "local", "namespace": "shop", "registry": "r.example.com"}}`),
			[]want{{"/environments/0/services/1/target/namespace", W, `only used by a target of type "kubernetes"`},
				{"/environments/0/services/1/target/registry", W, `only used by a target of type "kubernetes"`}}},
		{"a namespace that is not a DNS label", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"type": "kubernetes", "namespace": "Shop_1"}}`),
			[]want{{"/environments/0/services/1/target/namespace", E, `"Shop_1" is not a Kubernetes namespace: use lowercase letters`}}},
		{"a registry with a scheme", withService(`{"id": "w", "type": "web", "startCommand": "w", "target": {"type": "kubernetes", "registry": "https://r.example.com"}}`),
			[]want{{"/environments/0/services/1/target/registry", E, `is not a registry: write host[:port][/path]`}}},
		{"output directory of a web service", withService(`{"id": "w", "type": "web", "startCommand": "w", "outputDirectory": "dist"}`),
			[]want{{"/environments/0/services/1/outputDirectory", W, "only applies to static services"}}},
		{"single page app worker", withService(`{"id": "w", "type": "worker", "startCommand": "w", "singlePageApp": true}`),
			[]want{{"/environments/0/services/1/singlePageApp", W, "only applies to static services"}}},

		// Scheduler services and their jobs.
		{"scheduler without jobs", withService(`{"id": "cron", "type": "scheduler"}`),
			[]want{{"/environments/0/services/1", W, `service "cron" is a scheduler without "jobs"`}}},
		{"job without schedule", withService(`{"id": "cron", "type": "scheduler", "jobs": {"nightly": {"startCommand": "x"}}}`),
			[]want{{"/environments/0/services/1/jobs/nightly", E, `missing required field "schedule"`}}},
		{"job without startCommand", withService(`{"id": "cron", "type": "scheduler", "jobs": {"nightly": {"schedule": "manual"}}}`),
			[]want{{"/environments/0/services/1/jobs/nightly", E, `job "nightly" of service "cron" has no "startCommand": give the command the job runs in the build (only a job of a service built from a Dockerfile or a containerImage may leave it out`}}},
		{"job with a bad cron", withService(`{"id": "cron", "type": "scheduler", "jobs": {"nightly": {"startCommand": "x", "schedule": "0 25 * * *"}}}`),
			[]want{{"/environments/0/services/1/jobs/nightly/schedule", E, `job "nightly" of service "cron": "0 25 * * *" is not a valid cron expression`}}},
		{"job with four cron fields", withService(`{"id": "cron", "type": "scheduler", "jobs": {"nightly": {"startCommand": "x", "schedule": "0 3 * *"}}}`),
			[]want{{"/environments/0/services/1/jobs/nightly/schedule", E, `it has 4 fields, not 5`}}},
		{"job with a bad rate unit", withService(`{"id": "cron", "type": "scheduler", "jobs": {"often": {"startCommand": "x", "schedule": "rate(5 seconds)"}}}`),
			[]want{{"/environments/0/services/1/jobs/often/schedule", E, `job "often" of service "cron": "rate(5 seconds)" is not a valid rate: unit "seconds" is not minute(s), hour(s) or day(s)`}}},
		{"job with rate zero", withService(`{"id": "cron", "type": "scheduler", "jobs": {"often": {"startCommand": "x", "schedule": "rate(0 minutes)"}}}`),
			[]want{{"/environments/0/services/1/jobs/often/schedule", E, `"0" is not a whole number of at least 1`}}},
		{"job with an AWS year", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "cron(0 3 * * ? 2030)"}}}`),
			[]want{{"/environments/0/services/1/jobs/y/schedule", E, `the year field must be *`}}},
		{"job with AWS L", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "cron(0 3 L * ? *)"}}}`),
			[]want{{"/environments/0/services/1/jobs/y/schedule", E, `L, W and # in the day fields are not supported`}}},
		{"job with @every", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "@every 5m"}}}`),
			[]want{{"/environments/0/services/1/jobs/y/schedule", E, `use rate(...)`}}},
		{"job with an unknown timezone", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "0 3 * * *", "timezone": "Mars/Olympus"}}}`),
			[]want{{"/environments/0/services/1/jobs/y/timezone", E, `job "y" of service "cron": timezone "Mars/Olympus" is not a known IANA time zone`}}},
		{"job with a zero timeout", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "manual", "timeout": 0}}}`),
			[]want{{"/environments/0/services/1/jobs/y/timeout", E, `must be more than 0`}}},
		{"job id with a dot", withService(`{"id": "cron", "type": "scheduler", "jobs": {"a.b": {"startCommand": "x", "schedule": "manual"}}}`),
			[]want{{"/environments/0/services/1/jobs/a.b", E, `job id "a.b" is not valid`}}},
		{"job with an empty argv", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": [], "schedule": "manual"}}}`),
			[]want{{"/environments/0/services/1/jobs/y/startCommand", E, `"startCommand" is an empty array`}}},
		{"job with Flightcontrol's cpu and a typo", withService(`{"id": "cron", "type": "scheduler", "jobs": {"y": {"startCommand": "x", "schedule": "manual", "cpu": 0.5, "timout": 3}}}`),
			[]want{{"/environments/0/services/1/jobs/y/cpu", W, "not applicable on Liftoff"},
				{"/environments/0/services/1/jobs/y/timout", W, `unknown field, ignored (did you mean "timeout"?)`}}},
		{"jobs of a worker", withService(`{"id": "w", "type": "worker", "startCommand": "w", "jobs": {"y": {"startCommand": "x", "schedule": "manual"}}}`),
			[]want{{"/environments/0/services/1/jobs", W, "only applies to scheduler services; ignored"}}},
	}
	p := newTestParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, problems, err := p.Parse([]byte(tt.input))
			if len(problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(tt.want), joinProblems(problems))
			}
			wantErr := false
			for i, w := range tt.want {
				got := problems[i]
				if got.Path != w.path || got.Severity != w.severity || !strings.Contains(got.Message, w.message) {
					t.Errorf("problem %d = %v %q, want %v at %q containing %q", i, got.Severity, got, w.severity, w.path, w.message)
				}
				wantErr = wantErr || w.severity == SeverityError
			}
			switch {
			case wantErr && !errors.Is(err, ErrInvalid):
				t.Errorf("err = %v, want ErrInvalid", err)
			case !wantErr && err != nil:
				t.Errorf("err = %v, want nil for warnings only", err)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	t.Parallel()
	_, problems, err := newTestParser(t).Parse(readTestdata(t, "invalid/three-errors.json"))
	want := []string{
		"/environments/0/services/0/port: must be between 1 and 65535",
		`/environments/0/services/1/id: duplicate service id "api" in environment "production": service 0 has it too`,
		`/environments/0/services/2/type: service "cron" has type "cronjob", which Liftoff cannot run; use one of web, web-private, worker, static, scheduler`,
	}
	if got := joinProblems(problems); got != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	const wantErr = "invalid configuration: 3 errors, the first: /environments/0/services/0/port: must be between 1 and 65535"
	if err == nil || err.Error() != wantErr {
		t.Errorf("err = %v, want %s", err, wantErr)
	}
}

func TestParseErrorWithOneProblem(t *testing.T) {
	t.Parallel()
	_, _, err := newTestParser(t).Parse([]byte(`{"environments": []}`))
	const want = "invalid configuration: /environments: at least one environment is required"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		input        string
		line, column int
		message      string
	}{
		{"double comma", string(readTestdata(t, "invalid/syntax.json")), 3, 25, "invalid character ','"},
		{"empty file", "", 1, 1, "the file is empty"},
		{"blank file", " \n\t", 1, 1, "the file is empty"},
		{"truncated", "{\n  \"environments\": [\n", 3, 1, "unexpected end of JSON input"},
		{"trailing data", "{}\n{}", 2, 1, "after top-level value"},
		{"column counts characters", "{\"é\": x}", 1, 7, "invalid character 'x'"},
		{"single quotes", "{'environments': []}", 1, 2, "invalid character '\\''"},
	}
	p := newTestParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, problems, err := p.Parse([]byte(tt.input))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Error("a syntax error does not wrap ErrInvalid")
			}
			if se.Line != tt.line || se.Column != tt.column || !strings.Contains(se.Msg, tt.message) {
				t.Errorf("syntax error at %d:%d %q, want %d:%d containing %q", se.Line, se.Column, se.Msg, tt.line, tt.column, tt.message)
			}
			if f != nil || problems != nil {
				t.Errorf("file %v and problems %v, want none", f, problems)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	data := []byte(`{"environments": [], "pad": "` + strings.Repeat("x", MaxFileSize) + `"}`)
	_, problems, err := Parse(data)
	if !errors.Is(err, ErrInvalid) || len(problems) != 1 || !strings.Contains(problems[0].Message, "at most 1048576") {
		t.Errorf("err = %v, problems = %v", err, problems)
	}
}

func TestProblemString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		problem Problem
		want    string
	}{
		{"nested", Problem{Path: "/environments/0/services/1/port", Message: "must be between 1 and 65535"},
			"/environments/0/services/1/port: must be between 1 and 65535"},
		{"root", Problem{Message: `missing required field "environments"`}, `(root): missing required field "environments"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.problem.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProblemsSortInDocumentOrder(t *testing.T) {
	t.Parallel()
	ps := problems{
		{Path: "/environments/10/id", Message: "b", Severity: SeverityError},
		{Path: "/environments/2/id", Message: "w", Severity: SeverityWarning},
		{Path: "/environments/2/id", Message: "e", Severity: SeverityError},
		{Path: "", Message: "root", Severity: SeverityError},
		{Path: "/environments/2/id", Message: "e", Severity: SeverityError},
	}
	var got []string
	for _, p := range ps.sorted() {
		got = append(got, p.Path+" "+p.Message)
	}
	want := []string{" root", "/environments/2/id e", "/environments/2/id w", "/environments/10/id b"}
	if !slices.Equal(got, want) {
		t.Errorf("sorted = %q, want %q", got, want)
	}
}

func TestSeverityText(t *testing.T) {
	t.Parallel()
	for _, s := range []Severity{SeverityError, SeverityWarning} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round-trips to %v (%v)", s, back, err)
		}
	}
	var s Severity
	if err := s.UnmarshalText([]byte("fatal")); err == nil {
		t.Error("UnmarshalText(fatal) succeeded")
	}
}

func joinProblems(ps []Problem) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, "\n")
}

// TestOneServiceNeverRefusesTheOthers: services Liftoff cannot run (a
// static site from an image, a service without the command Liftoff
// needs, a managed database) are accepted and reported, each with its
// reason; the file is not refused and the others run.
func TestOneServiceNeverRefusesTheOthers(t *testing.T) {
	t.Parallel()
	input := withService(`{"id": "app", "type": "web", "buildType": "docker", "dockerfilePath": "Dockerfile"},
		{"id": "img", "type": "worker", "containerImage": {"repository": "redis", "tag": "7"}},
		{"id": "staticimg", "type": "static", "containerImage": {"repository": "nginx"}},
		{"id": "auto", "type": "fargate", "buildType": "nixpacks"},
		{"id": "db", "type": "rds"},
		{"id": "site", "type": "static", "buildCommand": "make"}`)
	f, problems, err := newTestParser(t).Parse([]byte(input))
	if err != nil {
		t.Fatalf("Parse refused the file: %v", err)
	}
	var runs []string
	for _, s := range f.Environments[0].RunnableServices() {
		runs = append(runs, s.ID)
	}
	if strings.Join(runs, ",") != "api,app,img,site" {
		t.Errorf("runnable services = %v, want api, app and img (containers) and site", runs)
	}
	reasons := map[string]string{}
	for _, s := range f.Environments[0].Services {
		reasons[s.ID] = s.NotRunReason()
	}
	for id, want := range map[string]string{
		"staticimg": "a static site is built from its commands or from its Dockerfile",
		"auto":      `it has no "startCommand": Liftoff runs a web service's own commands`,
		"db":        "type rds does not run on Liftoff",
	} {
		if !strings.HasPrefix(reasons[id], want) {
			t.Errorf("%s: NotRunReason %q, want it to start with %q", id, reasons[id], want)
		}
	}
	if len(problems) == 0 || errorCount(problems) != 0 {
		t.Errorf("problems = %v, want warnings only", problems)
	}
}

// TestEnvironmentTarget: an environment's target is the default of its
// services, those with a Flightcontrol target included; a service's own
// choice stands; a service that chose nothing keeps the operator's default.
func TestEnvironmentTarget(t *testing.T) {
	t.Parallel()
	f, problems, err := newTestParser(t).Parse([]byte(`{"environments": [
		{"id": "production", "source": {"branch": "main"},
		 "target": {"type": "kubernetes", "namespace": "shop", "registry": "registry.example.com:5000/team"},
		 "services": [
			{"id": "web", "type": "web", "startCommand": "w", "minInstances": 3},
			{"id": "old", "type": "fargate", "startCommand": "w", "target": {"type": "fargate"}},
			{"id": "mine", "type": "worker", "startCommand": "w", "target": {"type": "command", "deployCommand": "d"}}]},
		{"id": "staging", "source": {"branch": "dev"},
		 "services": [{"id": "web", "type": "web", "startCommand": "w", "target": {"type": "ecs-ec2"}}]}]}`))
	if err != nil {
		t.Fatalf("Parse: %v (%v)", err, problems)
	}
	for _, p := range problems {
		t.Logf("problem: %v", p)
	}
	prod := f.Environments[0].Services
	want := Target{Type: TargetKubernetes, Namespace: "shop", Registry: "registry.example.com:5000/team"}
	if prod[0].Target != want || prod[1].Target != want {
		t.Errorf("targets = %+v, %+v; want the environment's %+v", prod[0].Target, prod[1].Target, want)
	}
	if prod[0].MinInstances != 3 {
		t.Errorf("minInstances = %d, want 3", prod[0].MinInstances)
	}
	if prod[2].Target.Type != TargetCommand {
		t.Errorf("a service's own target = %+v, want command", prod[2].Target)
	}
	if got := f.Environments[1].Services[0].Target; !got.IsDefault() {
		t.Errorf("staging's ecs-ec2 target = %+v, want the operator's default", got)
	}
}
