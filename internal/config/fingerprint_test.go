package config

import (
	"regexp"
	"testing"
)

func TestFingerprint(t *testing.T) {
	t.Parallel()
	p := newTestParser(t)
	// fingerprint parses a one-service file and fingerprints the service.
	fingerprint := func(t *testing.T, doc string) string {
		t.Helper()
		f, _, err := p.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		env := &f.Environments[0]
		return env.Services[0].Fingerprint(f.EnvVariables, env.EnvVariables)
	}
	const base = `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
		"envVariables": {"B": "2"},
		"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"}}]}]}`
	want := fingerprint(t, base)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(want) {
		t.Fatalf("fingerprint %q is not sha256 hex", want)
	}
	// Fields added since keep the fingerprints of services that leave them
	// out: a new Liftoff redeploys nothing.
	const golden = "99d1e238e578555177eee8ced4a40849265550520ec34e165feb0e661d7158d5"
	if want != golden {
		t.Errorf("fingerprint of the base service = %s, want %s as before", want, golden)
	}

	same := []struct{ name, doc string }{
		{"key order and whitespace", `{"environments":[{"services":[{"envVariables":{"C":"3"},"startCommand":"npm start","type":"web","id":"api"}],
			"envVariables":{"B":"2"},"source":{"branch":"main"},"id":"production"}],"envVariables":{"A":"1"}}`},
		{"defaults spelt out", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"},
				"basePath": "./", "port": 3000, "healthCheckPath": "/", "healthCheckTimeoutSecs": 30,
				"buildTimeoutSecs": 1800, "target": {"type": "local"}}]}]}`},
		{"fields that do not change the release", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "name": "The API", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"},
				"watchPaths": ["api/**"], "versionHistoryCount": 3, "cpu": 4}]}]}`},
		{"a variable moved between levels", `{"envVariables": {"A": "1", "C": "3"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start"}]}]}`},
		{"docker fields on a service without a docker build", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"}, "dockerfilePath": "x", "injectEnvVariablesInDockerfile": false}]}]}`},
		{"a skipped object value", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3", "D": {"fromParameterStore": "x"}}}]}]}`},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fingerprint(t, tt.doc); got != want {
				t.Errorf("fingerprint changed: %s, want %s", got, want)
			}
		})
	}

	different := []struct{ name, doc string }{
		{"start command", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm run start", "envVariables": {"C": "3"}}]}]}`},
		{"root variable", `{"envVariables": {"A": "one"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"}}]}]}`},
		{"environment variable", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2", "E": ""},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "envVariables": {"C": "3"}}]}]}`},
		{"port", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "startCommand": "npm start", "port": 3001, "envVariables": {"C": "3"}}]}]}`},
		{"target", `{"envVariables": {"A": "1"}, "environments": [{"id": "production", "source": {"branch": "main"},
			"envVariables": {"B": "2"},
			"services": [{"id": "api", "type": "web", "target": {"type": "command", "deployCommand": "npm start"}, "startCommand": "npm start", "envVariables": {"C": "3"}}]}]}`},
	}
	for _, tt := range different {
		t.Run("different/"+tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fingerprint(t, tt.doc); got == want {
				t.Errorf("fingerprint did not change")
			}
		})
	}
}

func TestFingerprintAppliesDefaults(t *testing.T) {
	t.Parallel()
	bare := Service{ID: "api", Type: TypeWeb, StartCommand: Shell("s")}
	explicit := bare
	explicit.applyDefaults()
	if bare.Fingerprint(nil, nil) != explicit.Fingerprint(nil, nil) {
		t.Error("a service without defaults fingerprints differently from the same service with them")
	}
	if bare.Port != 0 {
		t.Error("Fingerprint changed its receiver")
	}
}

func TestFingerprintOfDockerBuilds(t *testing.T) {
	t.Parallel()
	p := newTestParser(t)
	fingerprint := func(t *testing.T, service string) string {
		t.Helper()
		f, _, err := p.Parse([]byte(`{"environments": [{"id": "production", "source": {"branch": "main"}, "services": [` + service + `]}]}`))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		return f.Environments[0].Services[0].Fingerprint(nil, nil)
	}
	base := fingerprint(t, `{"id": "api", "type": "web", "buildType": "docker"}`)
	if got := fingerprint(t, `{"id": "api", "type": "web", "buildType": "docker", "dockerfilePath": "./Dockerfile", "dockerContext": "./", "injectEnvVariablesInDockerfile": true}`); got != base {
		t.Errorf("defaults spelt out changed the fingerprint")
	}
	for name, service := range map[string]string{
		"not docker":     `{"id": "api", "type": "web", "startCommand": "s"}`,
		"dockerfilePath": `{"id": "api", "type": "web", "buildType": "docker", "dockerfilePath": "api/Dockerfile"}`,
		"dockerContext":  `{"id": "api", "type": "web", "buildType": "docker", "dockerContext": "api"}`,
		"dockerTarget":   `{"id": "api", "type": "web", "buildType": "docker", "dockerTarget": "prod"}`,
		"secrets":        `{"id": "api", "type": "web", "buildType": "docker", "injectEnvVariablesInDockerfile": false}`,
		"image":          `{"id": "api", "type": "web", "buildType": "docker", "containerImage": {"repository": "r", "tag": "1"}}`,
	} {
		if fingerprint(t, service) == base {
			t.Errorf("%s: the fingerprint did not change", name)
		}
	}
}

// TestFingerprintOfKubernetesTargets: where a kubernetes release goes and
// how many instances run redeploy the service; a local service's
// fingerprint does not change with settings it ignores.
func TestFingerprintOfKubernetesTargets(t *testing.T) {
	t.Parallel()
	kube := Service{ID: "web", Type: TypeWeb, StartCommand: Command{Line: "w"}, Target: Target{Type: TargetKubernetes, Namespace: "a"}}
	base := kube.Fingerprint(nil, nil)
	for name, change := range map[string]func(*Service){
		"namespace":    func(s *Service) { s.Target.Namespace = "b" },
		"context":      func(s *Service) { s.Target.Context = "other" },
		"registry":     func(s *Service) { s.Target.Registry = "r.example.com" },
		"ingressClass": func(s *Service) { s.Target.IngressClass = "nginx" },
		"baseImage":    func(s *Service) { s.Target.BaseImage = "node:22" },
		"minInstances": func(s *Service) { s.MinInstances = 2 },
	} {
		s := kube
		change(&s)
		if s.Fingerprint(nil, nil) == base {
			t.Errorf("changing %s left the fingerprint", name)
		}
	}
	one := kube
	one.MinInstances = 1
	if one.Fingerprint(nil, nil) != base {
		t.Error("minInstances 1 (the default) changed the fingerprint")
	}
	local := Service{ID: "web", Type: TypeWeb, StartCommand: Command{Line: "w"}}
	ignored := local
	ignored.Target.Namespace, ignored.MinInstances = "a", 3
	if local.Fingerprint(nil, nil) != ignored.Fingerprint(nil, nil) {
		t.Error("kubernetes settings changed a local service's fingerprint")
	}
}
