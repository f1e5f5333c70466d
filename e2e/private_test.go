package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// privateConfig is a web-private container service, api, read through
// fromService by a container service (web) and a process service (proc).
func privateConfig() string {
	services := `[
  {"id": "api", "name": "API", "type": "web-private", "buildType": "docker", "port": 3000,
   "dockerfilePath": "api/Dockerfile", "dockerContext": "api", "watchPaths": ["api/**"],
   "healthCheckPath": "/health", "healthCheckTimeoutSecs": 30},
  {"id": "web", "name": "Web", "type": "web", "buildType": "docker", "port": 3000,
   "dockerfilePath": "web/Dockerfile", "dockerContext": "web", "watchPaths": ["web/**"],
   "healthCheckPath": "/health", "healthCheckTimeoutSecs": 30,
   "envVariables": {"API": {"fromService": {"id": "api", "value": "origin"}}}},
  {"id": "proc", "name": "Proc", "type": "web", "startCommand": "` + webserver + `", "watchPaths": ["proc/**"],
   "healthCheckPath": "/health",
   "envVariables": {"API": {"fromService": {"id": "api", "value": "origin"}}, "API_HOST": {"fromService": {"id": "api", "value": "host"}}}}
]`
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": ` + services + `},
  {"id": "preview", "name": "Previews", "source": {"pr": true, "filter": {"toBranches": ["main"]}}, "services": ` + services + `}
]}`
}

// TestPrivateServiceReachedByContainersAndProcesses: a private service
// is reached, at the address fromService gave, by a container and by a
// process; a redeploy of it alone (the readers keep their addresses and
// are not redeployed) is what they reach next.
func TestPrivateServiceReachedByContainersAndProcesses(t *testing.T) {
	t.Parallel()
	f, _ := newContainerFixture(t, "ctr-private", map[string]string{
		"liftoff.json":    privateConfig(),
		"api/Dockerfile":  containerDockerfile,
		"api/webserver":   staticWebserverBinary(t),
		"api/version.txt": "api-v1",
		"api/test-id.txt": t.Name() + " " + strconv.FormatInt(time.Now().UnixNano(), 36),
		"proc/README":     "the proc service runs the webserver binary",
	})
	d := f.deployOK("")
	for _, id := range []string{"api", "web", "proc"} {
		if s := service(t, d, id); s.Status != "SUCCESS" {
			t.Fatalf("%s: %s", id, s.Status)
		}
	}
	_, procAPI := f.get("proc", "/env/API")
	_, webAPI := f.get("web", "/env/API")
	_, procHost := f.get("proc", "/env/API_HOST")
	if !strings.HasPrefix(procAPI, "http://127.0.0.1:") || procAPI != "http://"+procHost {
		t.Fatalf("the process reads api at %q (host %q), want http://127.0.0.1:<port>", procAPI, procHost)
	}
	port := strings.TrimPrefix(procAPI, "http://127.0.0.1:")
	if !strings.HasPrefix(webAPI, "http://") || !strings.HasSuffix(webAPI, ":"+port) || webAPI == procAPI {
		t.Fatalf("the container reads api at %q, want the container network's address and port %s", webAPI, port)
	}
	for _, reader := range []string{"web", "proc"} {
		if status, body := f.get(reader, "/fetch/API"); status != 200 || body != "api-v1" {
			t.Fatalf("%s fetching api: %d %q", reader, status, body)
		}
	}
	// The proxy does not serve a private service.
	if status, _ := f.get("api", "/"); status != 404 {
		t.Errorf("the proxy answered %d for the private service's host name, want 404", status)
	}

	f.repo.Commit("api v2", map[string]string{"api/version.txt": "api-v2"})
	d = f.deployOK("")
	if s := service(t, d, "web"); s.Status != "NO_CHANGE" {
		t.Fatalf("web was %s on a change to api alone: its address of api must not change", s.Status)
	}
	for _, reader := range []string{"web", "proc"} {
		if status, body := f.get(reader, "/fetch/API"); status != 200 || body != "api-v2" {
			t.Fatalf("%s fetching api after its redeploy: %d %q", reader, status, body)
		}
	}
}
