package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	lotarget "github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/local"
)

// testNode is the node the API's tests serve from.
const testNode = "node-test"

// logStart is the time of the first line of fakeLogs.
var logStart = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// fakeLogs is the log reader of the API's tests: every service printed two
// lines, a minute apart, naming it.
type fakeLogs struct{}

func (fakeLogs) ReadLog(_ context.Context, inst lotarget.Instance, service string, p local.ReadLogParams, emit func([]local.LogLine) error) error {
	var out []local.LogLine
	for _, l := range []local.LogLine{{Time: logStart, Text: "listening"}, {Time: logStart.Add(time.Minute), Text: "served " + service + " in " + inst.Key()}} {
		if p.Since.IsZero() || !l.Time.Before(p.Since) {
			out = append(out, l)
		}
	}
	return emit(out)
}

// serviceIn returns the id of service given in environment env.
func (h *harness) serviceIn(env, given string) string {
	h.t.Helper()
	svcs, err := h.store.ListServices(context.Background(), store.ListServicesParams{EnvironmentID: h.env[env]})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, s := range svcs {
		if s.GivenID == given {
			return s.ID
		}
	}
	h.t.Fatalf("no service %s in %s: %+v", given, env, svcs)
	return ""
}

// crashedService records a crashed release of service id, as the
// supervision of a node does.
func (h *harness) crashedService(id, node string) {
	h.t.Helper()
	ctx := context.Background()
	for i, st := range []string{liftoff.ServiceRestarting, liftoff.ServiceCrashed} {
		r := liftoff.ServiceRestart{ServiceID: id, ReleaseID: "sd-1", At: logStart.Add(time.Duration(i) * time.Second),
			Reason: "exited with status 1", ExitCode: new(1), LastLines: []string{"boom"}, State: st}
		if err := h.store.RecordServiceRestart(ctx, store.RecordServiceRestartParams{Restart: r, Keep: 20}); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := h.store.PutServiceState(ctx, liftoff.ServiceState{ServiceID: id, ReleaseID: "sd-1", State: liftoff.ServiceCrashed,
		Restarts: 1, NodeID: node, UpdatedAt: logStart}); err != nil {
		h.t.Fatal(err)
	}
}

func TestGetService(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			id := h.serviceIn("production", "api")
			got, err := h.c.Service(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.ServiceGivenID != "api" || got.Environment.GivenID != "production" || len(got.Instances) != 0 {
				t.Fatalf("service before any release = %+v", got)
			}
			h.crashedService(id, testNode)
			got, err = h.c.Service(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Instances) != 1 {
				t.Fatalf("instances = %+v", got.Instances)
			}
			in := got.Instances[0]
			if in.State != "crashed" || in.ReleaseID != "sd-1" || in.RestartCount != 1 || in.NodeID != testNode || in.PRNumber != nil ||
				len(in.LastRestarts) != 2 {
				t.Fatalf("instance = %+v", in)
			}
			if r := in.LastRestarts[0]; r.State != "crashed" || r.ExitCode == nil || *r.ExitCode != 1 || !slices.Equal(r.LastLines, []string{"boom"}) {
				t.Errorf("newest restart = %+v", r)
			}
			// A normal environment has no pull requests.
			if _, err := h.c.Service(ctx, id, 3); !isStatus(err, http.StatusBadRequest) {
				t.Errorf("with a prNumber outside previews: %v", err)
			}
			if _, err := h.c.Service(ctx, "cnope", 0); !isStatus(err, http.StatusNotFound) {
				t.Errorf("an unknown service: %v", err)
			}
		})
	}
}

func TestServiceLogs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	ctx := context.Background()
	id := h.serviceIn("production", "api")
	read := func(p client.ServiceLogsParams) ([]string, error) {
		var got []string
		err := h.c.ServiceLogs(ctx, id, p, func(l string) { got = append(got, l) })
		return got, err
	}
	got, err := read(client.ServiceLogsParams{})
	want := []string{"2026-12-01T10:00:00Z listening", "2026-12-01T10:01:00Z served api in production"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("logs = %q %v, want %q", got, err, want)
	}
	if got, err := read(client.ServiceLogsParams{Since: "2026-12-01T10:00:30Z"}); err != nil || !slices.Equal(got, want[1:]) {
		t.Errorf("logs since 10:00:30 = %q %v", got, err)
	}
	if got, err := read(client.ServiceLogsParams{Follow: true}); err != nil || !slices.Equal(got, want) {
		t.Errorf("followed logs = %q %v", got, err)
	}
	for _, since := range []string{"yesterday", "-5m"} {
		if _, err := read(client.ServiceLogsParams{Since: since}); !isStatus(err, http.StatusBadRequest) {
			t.Errorf("since=%s: %v", since, err)
		}
	}
	// Its release runs on another node, which has its log.
	h.crashedService(id, "node-b")
	if _, err := read(client.ServiceLogsParams{}); !isStatus(err, http.StatusServiceUnavailable) || !strings.Contains(err.Error(), "node-b") {
		t.Errorf("logs of a release on another node: %v", err)
	}
}

// isStatus reports whether err is an API error with status.
func isStatus(err error, status int) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Status == status
}

// previewState records the state of service id in pull request pr's
// instance, as the supervision of a node does.
func (h *harness) previewState(id string, pr int, state string) {
	h.t.Helper()
	if err := h.store.PutServiceState(context.Background(), liftoff.ServiceState{ServiceID: id, PRNumber: pr, ReleaseID: "sd-pr",
		State: state, Restarts: 2, NodeID: testNode, UpdatedAt: logStart}); err != nil {
		h.t.Fatal(err)
	}
}

// TestEnvironmentServiceStates: Get Environment gives each service the
// state and restart count of its release, none for one that never ran,
// and in a preview environment the state of each pull request's instance.
func TestEnvironmentServiceStates(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect, testHooks())
			ctx := context.Background()
			byID := func(env string) map[string]client.Service {
				t.Helper()
				e, err := h.c.Environment(ctx, h.env[env])
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]client.Service{}
				for _, s := range e.Services {
					out[s.ServiceGivenID] = s
				}
				return out
			}
			if api := byID("production")["api"]; api.State != "" || api.RestartCount != 0 || api.Previews != nil {
				t.Fatalf("api before any release = %+v", api)
			}
			h.crashedService(h.serviceIn("production", "api"), testNode)
			prod := byID("production")
			if api := prod["api"]; api.State != "crashed" || api.RestartCount != 1 || api.Previews != nil {
				t.Errorf("crashed api = %+v", api)
			}
			if site := prod["site"]; site.State != "" || site.RestartCount != 0 {
				t.Errorf("site, never run = %+v", site)
			}
			// Another environment's service of the same given id is its own.
			if api := byID("staging")["api"]; api.State != "" {
				t.Errorf("staging's api took production's state: %+v", api)
			}
			pv := h.serviceIn("preview", "api")
			h.previewState(pv, 7, liftoff.ServiceRunning)
			h.previewState(pv, 3, liftoff.ServiceRestarting)
			api := byID("preview")["api"]
			want := []client.ServiceInstanceState{{PRNumber: 3, State: "restarting", RestartCount: 2}, {PRNumber: 7, State: "running", RestartCount: 2}}
			if api.State != "" || !slices.Equal(api.Previews, want) {
				t.Errorf("preview api = %+v, want previews %+v", api, want)
			}
		})
	}
}
