package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// scrape reads a /metrics answer into its samples, by series (name and
// labels as written).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("a sample of %s: %q", url, line)
		}
		samples[line[:i]] = v
	}
	return samples
}

// TestMetricsCountTheRun scrapes /metrics before and after a run (a hook
// call that deploys, a refused call, a crash of a running service) and
// finds every counter moved as the run did: hook calls by outcome and
// code, the deployment's final status, builds and releases, the restart,
// the store's calls and the output stored; and the queue and workers as
// they are.
func TestMetricsCountTheRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	url := f.srv.url() + "/metrics"
	before := scrape(t, url)

	d := f.deploy("")
	if d.Status != "SUCCESS" {
		t.Fatalf("the deployment ended %s", d.Status)
	}
	if status := hookStatus(t, f.hookURL("")[:strings.LastIndex(f.hookURL(""), "/")+1]+"lfh_"+strings.Repeat("x", 40)); status != http.StatusNotFound {
		t.Fatalf("a wrong secret answered %d", status)
	}
	apiID := service(t, d, "api").Service.ServiceID
	waitUntil(t, "the api's release to be recorded running", func() bool {
		in, ok := f.instanceOf(apiID)
		return ok && in.State == "running"
	})
	if status, _ := f.get("api", "/crash?code=3"); status != 200 {
		t.Fatalf("/crash answered %d", status)
	}
	waitUntil(t, "the restart to be recorded", func() bool {
		in, ok := f.instanceOf(apiID)
		return ok && in.State == "running" && in.RestartCount == 1
	})

	after := scrape(t, url)
	moved := func(series string) float64 { return after[series] - before[series] }
	built := 0
	for _, s := range d.ServiceDeployments {
		if s.Status == "SUCCESS" && s.Service.Type != "" {
			built++
		}
	}
	for _, c := range []struct {
		series string
		want   float64
	}{
		{`liftoff_hook_calls_total{code="200",outcome="queued"}`, 1},
		{`liftoff_hook_calls_total{code="404",outcome="refused"}`, 1},
		{`liftoff_deployments_finished_total{status="SUCCESS"}`, 1},
		{`liftoff_build_duration_seconds_count{result="success"}`, float64(built)},
		{`liftoff_service_restarts_total`, 1},
	} {
		if got := moved(c.series); got != c.want {
			t.Errorf("%s moved by %v, want %v", c.series, got, c.want)
		}
	}
	for _, series := range []string{`liftoff_release_duration_seconds_count{result="success"}`, `liftoff_store_duration_seconds_count{op="read"}`,
		`liftoff_store_duration_seconds_count{op="write"}`, `liftoff_log_bytes_stored_total`, `liftoff_log_lines_stored_total`} {
		if moved(series) <= 0 {
			t.Errorf("%s did not move: %v then %v", series, before[series], after[series])
		}
	}
	for series, want := range map[string]float64{"liftoff_workers": 2, "liftoff_workers_busy": 0, "liftoff_deployments_pending": 0,
		"liftoff_deployments_running": 0, "liftoff_oldest_pending_deployment_age_seconds": 0} {
		if got, ok := after[series]; !ok || got != want {
			t.Errorf("%s = %v (present: %v), want %v", series, got, ok, want)
		}
	}
	var names []string
	for series := range after {
		name, _, _ := strings.Cut(series, "{")
		if strings.HasPrefix(name, "liftoff_") && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	t.Logf("liftoff's series on /metrics after the run: %s", strings.Join(names, " "))
}

// TestMetricsAddr: with --metrics-addr, /metrics is served there and not
// on the API's address.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	flags := storeFlags(t, "sqlite", t.TempDir())
	logs := &logLines{}
	srv := start(t, append(flags, "--metrics-addr", "127.0.0.1:0"), logs)
	addr := ""
	for _, line := range logs.all() {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "metrics listening" {
			addr, _ = rec["metrics_addr"].(string)
		}
	}
	if addr == "" {
		t.Fatal("liftoff serve did not log where /metrics listens")
	}
	if got := scrape(t, "http://"+addr+"/metrics"); got["liftoff_workers"] == 0 {
		t.Errorf("the metrics address serves no liftoff_workers")
	}
	resp, err := http.Get(srv.url() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("/metrics is also on the API's address")
	}
}
