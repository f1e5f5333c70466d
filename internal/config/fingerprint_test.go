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
