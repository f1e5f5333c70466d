package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"environments": []}`,
		withService(`{"id": "w", "type": "worker", "startCommand": "w", "dependsOn": ["w"], "watchPaths": ["!./"]}`),
		withService(`{"id": "w", "type": "web", "Port": "x", "port": 1e3, "envVariables": {"A": {"fromService": 1}, "1": []}}`),
		fileWith(`{"id": "preview", "source": {"pr": true, "branch": "x"}, "services": [{"id": "db", "type": "rds"}]}`),
		`{"environments": [{"id": "a", "source": {"branch": "b"}, "services": [{"id": "a", "type": "static", "target": {"type": "command"}}]}], "environments": 1}`,
	} {
		f.Add([]byte(s))
	}
	p := newTestParser(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, problems, err := p.Parse(data)
		var se *SyntaxError
		switch {
		case errors.As(err, &se):
			if file != nil || len(problems) != 0 {
				t.Fatalf("syntax error with a file or problems: %v", problems)
			}
			if se.Line < 1 || se.Column < 1 {
				t.Fatalf("syntax error at %d:%d", se.Line, se.Column)
			}
			return
		case err != nil:
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v does not wrap ErrInvalid", err)
			}
			if errorCount(problems) == 0 {
				t.Fatalf("err %v without an error problem: %v", err, problems)
			}
		default:
			if errorCount(problems) != 0 {
				t.Fatalf("error problems without err: %v", problems)
			}
			checkValidFile(t, file)
		}
		if len(data) > MaxFileSize {
			return
		}
		doc, _, derr := decodeDocument(data)
		if derr != nil {
			t.Fatalf("Parse succeeded on what decodeDocument rejects: %v", derr)
		}
		for _, pr := range problems {
			if pr.Message == "" || (pr.Severity != SeverityError && pr.Severity != SeverityWarning) {
				t.Fatalf("malformed problem %#v", pr)
			}
			if strings.Contains(pr.Message, "cannot read the configuration") {
				t.Fatalf("the schema accepted what the model cannot read: %v", pr)
			}
			if _, ok := lookup(doc, pr.Path); !ok {
				t.Fatalf("problem %q points at nothing", pr)
			}
		}
	})
}

// FuzzFieldValues fills a valid file's fields with arbitrary values, which
// reaches the schema and the checks far more often than arbitrary bytes do.
func FuzzFieldValues(f *testing.F) {
	f.Add("production", "main", false, "api", "web", "npm start", "3000", "apps/**", "api", "PORT", "8080", "local")
	f.Add("preview", "", true, "web", "static", "", "3000.0", "!./x/{a,b}", "web", "1A", "{\"fromService\": 1}", "command")
	f.Add("p", "b", false, "w", "rds", "x", "1e3", "[", "zz", "A_B", "[]", "fargate")
	p := newTestParser(f)
	f.Fuzz(func(t *testing.T, envID, branch string, pr bool, svcID, typ, start, port, watch, dep, envName, envValue, target string) {
		// port and envValue are raw JSON when they are JSON, strings
		// otherwise.
		raw := func(s string) any {
			if json.Valid([]byte(s)) {
				return json.RawMessage(s)
			}
			return s
		}
		doc := map[string]any{
			"environments": []any{map[string]any{
				"id":     envID,
				"source": map[string]any{"branch": branch, "pr": pr},
				"services": []any{map[string]any{
					"id": svcID, "type": typ, "startCommand": start, "port": raw(port),
					"watchPaths": []string{watch}, "dependsOn": []string{dep},
					"envVariables": map[string]any{envName: raw(envValue)},
					"target":       map[string]any{"type": target, "deployCommand": start},
				}},
			}},
		}
		data, err := json.Marshal(doc)
		if err != nil {
			return
		}
		file, problems, err := p.Parse(data)
		if err == nil {
			if errorCount(problems) != 0 {
				t.Fatalf("error problems without err: %v", problems)
			}
			checkValidFile(t, file)
			return
		}
		if errorCount(problems) == 0 {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err %v without an error problem", err)
			}
		}
		for _, pr := range problems {
			if strings.Contains(pr.Message, "cannot read the configuration") {
				t.Fatalf("the schema accepted what the model cannot read: %v", pr)
			}
		}
	})
}

// checkValidFile checks what a file without errors promises its users.
func checkValidFile(t *testing.T, f *File) {
	t.Helper()
	if f == nil || len(f.Environments) == 0 {
		t.Fatalf("valid file without environments: %+v", f)
	}
	envIDs := map[string]bool{}
	for _, env := range f.Environments {
		if env.ID == "" || envIDs[env.ID] {
			t.Fatalf("environment id %q empty or repeated", env.ID)
		}
		envIDs[env.ID] = true
		if !env.IsPreview() && env.Source.Branch == "" {
			t.Fatalf("environment %q without branch", env.ID)
		}
		svcIDs := map[string]bool{}
		for _, s := range env.Services {
			if s.ID == "" || svcIDs[s.ID] {
				t.Fatalf("service id %q empty or repeated", s.ID)
			}
			svcIDs[s.ID] = true
			if !s.Runnable() {
				continue
			}
			if s.Port < 1 || s.Port > 65535 || s.HealthCheckTimeoutSecs < 1 || s.VersionHistoryCount < 1 ||
				s.BuildTimeoutSecs < 1 || !strings.HasPrefix(s.HealthCheckPath, "/") || escapesRepo(s.BasePath) {
				t.Fatalf("service %q breaks a rule: %+v", s.ID, s)
			}
			if !s.Target.IsDefault() && s.Target.Type != TargetLocal && s.Target.Type != TargetCommand && !s.Target.IsKubernetes() {
				t.Fatalf("service %q has target %q", s.ID, s.Target.Type)
			}
			if s.Target.Type == TargetCommand && s.Target.DeployCommand == "" {
				t.Fatalf("service %q has a command target without a command", s.ID)
			}
		}
		for _, s := range env.Services {
			for _, d := range s.DependsOn {
				if !svcIDs[d] {
					t.Fatalf("service %q depends on unknown %q", s.ID, d)
				}
			}
		}
		// Fingerprint must not panic, and must not depend on the
		// receiver's copy.
		for _, s := range env.Services {
			first := s.Fingerprint(f.EnvVariables, env.EnvVariables)
			again := s
			if again.Fingerprint(f.EnvVariables, env.EnvVariables) != first {
				t.Fatal("unstable fingerprint")
			}
		}
	}
}
