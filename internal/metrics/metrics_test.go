package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/metrics"
)

// scrape returns the metrics' text answer.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("/metrics answered %d: %s", rec.Code, b)
	}
	return string(b)
}

// TestNilRecordsNothing: the packages it instruments pass no Metrics in
// their tests.
func TestNilRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.HookCall(metrics.OutcomeQueued, 200)
	m.DeploymentFinished("SUCCESS")
	m.Build(metrics.ResultSuccess, time.Second)
	m.Release(metrics.ResultFailure, time.Second)
	m.Workers(2)
	m.WorkerBusy(1)
	m.ServiceRestarted()
	m.StoreCall("read", time.Millisecond)
	m.OutputStored(1, 10)
}

// TestQueueReadAtScrape: the queue gauges are read at each scrape; a read
// that fails leaves them out and the rest is served.
func TestQueueReadAtScrape(t *testing.T) {
	m := metrics.New()
	fail := false
	m.WatchQueue(func(context.Context) (metrics.QueueState, error) {
		if fail {
			return metrics.QueueState{}, errors.New("database unreachable")
		}
		return metrics.QueueState{Pending: 3, OldestPending: 90 * time.Second, Running: 2}, nil
	})
	text := scrape(t, m)
	for _, line := range []string{"liftoff_deployments_pending 3", "liftoff_oldest_pending_deployment_age_seconds 90", "liftoff_deployments_running 2"} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("the scrape lacks %q:\n%s", line, text)
		}
	}
	fail = true
	m.Workers(2)
	text = scrape(t, m)
	if strings.Contains(text, "liftoff_deployments_pending") || !strings.Contains(text, "liftoff_workers 2\n") {
		t.Errorf("with the queue unreadable, the scrape is:\n%s", text)
	}
}

// TestGrafanaDashboard: docs/grafana-dashboard.json is valid JSON whose
// queries name only series Liftoff serves.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	m := metrics.New()
	m.WatchQueue(func(context.Context) (metrics.QueueState, error) { return metrics.QueueState{}, nil })
	m.HookCall(metrics.OutcomeQueued, 200) // vectors show once they have a child
	m.DeploymentFinished("SUCCESS")
	m.Build(metrics.ResultSuccess, time.Second)
	m.Release(metrics.ResultSuccess, time.Second)
	m.StoreCall("read", time.Millisecond)
	served := scrape(t, m)
	name := regexp.MustCompile(`liftoff_[a-z_]+`)
	if len(dash.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	var used []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				if !regexp.MustCompile(`(?m)^` + n + `[{ ]`).MatchString(served) {
					t.Errorf("panel %q queries %s, which /metrics does not serve", p.Title, n)
				}
				used = append(used, strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum"))
			}
		}
	}
	for _, family := range regexp.MustCompile(`(?m)^# TYPE (liftoff_[a-z_]+) `).FindAllStringSubmatch(served, -1) {
		if !slices.Contains(used, family[1]) {
			t.Errorf("no panel shows %s", family[1])
		}
	}
}
