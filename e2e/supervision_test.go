package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
)

// cliIn runs a liftoff client command against the fixture's server, with
// stdin, and returns its stdout.
func (f *fixture) cliIn(stdin string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command(binary, append([]string{"--server", f.srv.url(), "--api-key", f.key}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		f.t.Fatalf("liftoff %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// instanceOf returns the runtime of a production service's release, and
// whether it has one yet.
func (f *fixture) instanceOf(serviceID string) (client.ServiceInstance, bool) {
	f.t.Helper()
	svc, err := f.c.Service(context.Background(), serviceID, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(svc.Instances) != 1 {
		return client.ServiceInstance{}, false
	}
	return svc.Instances[0], true
}

// envService returns a service of an environment as Get Environment shows
// it.
func (f *fixture) envService(envID int64, given string) client.Service {
	f.t.Helper()
	e, err := f.c.Environment(context.Background(), envID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range e.Services {
		if s.ServiceGivenID == given {
			return s
		}
	}
	f.t.Fatalf("environment %d has no service %s: %+v", envID, given, e.Services)
	return client.Service{}
}

// envsGetRow returns the row of a service in `liftoff envs get`.
func (f *fixture) envsGetRow(envID int64, given string) string {
	f.t.Helper()
	out := f.cliIn("", "envs", "get", strconv.FormatInt(envID, 10))
	for line := range strings.SplitSeq(out, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == given {
			return line
		}
	}
	f.t.Fatalf("liftoff envs get lists no %s:\n%s", given, out)
	return ""
}

// TestSupervisionRestartsACrash: a healthy release whose process exits
// with status 3 is started again with the default backoff (1 s), answers
// again through the proxy, and its restart shows in Get Service (with the
// exit code), Get Environment and liftoff envs get. The time from the
// crash to answering again is printed; only a very long one fails, since
// CI is loaded.
func TestSupervisionRestartsACrash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	d := f.deploy("")
	if d.Status != "SUCCESS" {
		t.Fatalf("first deployment ended %s", d.Status)
	}
	apiID, envID := service(t, d, "api").Service.ServiceID, d.EnvironmentID
	status, oldStart := f.get("api", "/started")
	if status != 200 {
		t.Fatalf("/started answered %d %q", status, oldStart)
	}
	waitUntil(t, "the api's release to be recorded running", func() bool {
		in, ok := f.instanceOf(apiID)
		return ok && in.State == "running"
	})

	if status, body := f.get("api", "/crash?code=3"); status != 200 || !strings.Contains(body, "crashing with status 3") {
		t.Fatalf("/crash answered %d %q", status, body)
	}
	crashed := time.Now()
	// The signal: the proxy answers again, from another process.
	seen := map[int]int{}
	var back time.Duration
	for {
		status, body := f.get("api", "/started")
		seen[status]++
		if status == 200 && body != oldStart {
			back = time.Since(crashed)
			break
		}
		if time.Since(crashed) > 60*time.Second {
			t.Fatalf("the api did not answer again within 60s of its crash (answers seen by status: %v)\n%s", seen, strings.Join(f.logs.all(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("supervision: a crashed release answered again through the proxy %s after /crash answered (it exits 100ms later; restart backoff 1s; answers until then by status: %v)",
		back.Round(time.Millisecond), seen)
	if back > 30*time.Second {
		t.Errorf("the restart took %s, far beyond the 1s backoff", back)
	}
	f.expectAnswer("api", "v1")

	var in client.ServiceInstance
	waitUntil(t, "the restart to be recorded", func() bool {
		var ok bool
		in, ok = f.instanceOf(apiID)
		return ok && in.State == "running" && in.RestartCount == 1 && len(in.LastRestarts) >= 1
	})
	if r := in.LastRestarts[0]; r.ExitCode == nil || *r.ExitCode != 3 || r.HealthCheck || r.State != "restarting" ||
		!strings.Contains(r.Reason, "3") || r.ReleaseID != service(t, d, "api").ServiceDeploymentID {
		t.Errorf("the restart recorded = %+v", r)
	}
	if s := f.envService(envID, "api"); s.State != "running" || s.RestartCount != 1 {
		t.Errorf("Get Environment shows api %q with %d restarts, want running with 1", s.State, s.RestartCount)
	}
	// The preview environment's api never ran.
	if s := f.envService(f.project.Environments[1].EnvironmentID, "api"); s.State != "" || s.Previews != nil {
		t.Errorf("Get Environment shows the preview api, which never ran, %q %+v, want no state", s.State, s.Previews)
	}
	if row := f.envsGetRow(envID, "api"); !strings.HasSuffix(row, "running, 1 restart") {
		t.Errorf("liftoff envs get shows api as %q, want its STATE running, 1 restart", row)
	}
}

// TestSupervisionCrashedRelease: a release that exits each time it is up
// is restarted --max-restarts times, then crashed: the proxy answers 503
// with the page saying so, Get Service, Get Environment and liftoff envs
// get show it, and the next deployment starts the service again.
func TestSupervisionCrashedRelease(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, "sqlite", "--restart-backoff", "100ms", "--restart-backoff-max", "200ms", "--max-restarts", "2")
	f.repo.Commit("always crashes", map[string]string{"api/crash.txt": "7"})
	d := f.deploy("")
	if d.Status != "SUCCESS" {
		logs, _ := f.c.Logs(context.Background(), d.DeploymentID, "")
		t.Fatalf("deployment ended %s %v\n%s", d.Status, d.Error, logs)
	}
	deployed := time.Now()
	apiID, envID := service(t, d, "api").Service.ServiceID, d.EnvironmentID
	var in client.ServiceInstance
	waitUntil(t, "the api's release to be recorded crashed", func() bool {
		var ok bool
		in, ok = f.instanceOf(apiID)
		return ok && in.State == "crashed"
	})
	t.Logf("supervision: a release that always crashes was recorded crashed %s after its deployment (backoff 100ms to 200ms, 2 restarts)",
		time.Since(deployed).Round(time.Millisecond))
	if in.RestartCount != 2 || len(in.LastRestarts) != 3 {
		t.Fatalf("crashed instance = %+v, want 2 restarts and 3 records", in)
	}
	if r := in.LastRestarts[0]; r.State != "crashed" || r.ExitCode == nil || *r.ExitCode != 7 {
		t.Errorf("the last restart recorded = %+v", r)
	}
	for _, r := range in.LastRestarts[1:] {
		if r.State != "restarting" || r.ExitCode == nil || *r.ExitCode != 7 {
			t.Errorf("an earlier restart recorded = %+v", r)
		}
	}
	status, body := f.get("api", "/")
	if status != 503 || !strings.Contains(body, "has crashed") || !strings.Contains(body, "gave up restarting it") {
		t.Errorf("the proxy answers a crashed service %d %q, want 503 with the crashed page", status, body)
	}
	f.expectAnswer("site", "site v1")
	if s := f.envService(envID, "api"); s.State != "crashed" || s.RestartCount != 2 {
		t.Errorf("Get Environment shows api %q with %d restarts, want crashed with 2", s.State, s.RestartCount)
	}
	if row := f.envsGetRow(envID, "api"); !strings.HasSuffix(row, "crashed, 2 restarts") {
		t.Errorf("liftoff envs get shows api as %q, want its STATE crashed, 2 restarts", row)
	}

	// The next deployment starts it again.
	f.repo.Git("rm", "-q", "api/crash.txt")
	f.repo.Commit("fixed", nil)
	if d := f.deploy(""); service(t, d, "api").Status != "SUCCESS" {
		t.Fatalf("the fix deployed api %s", service(t, d, "api").Status)
	}
	f.expectAnswer("api", "v1")
	waitUntil(t, "the new release to be recorded running", func() bool {
		in, ok := f.instanceOf(apiID)
		return ok && in.State == "running"
	})
}

// TestLogsFollow: liftoff logs -f follows what a running release prints:
// a line printed after the command showed an earlier one appears, and a
// secret variable's value the release printed appears as [REDACTED].
func TestLogsFollow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	const secret = "sk_live_f0110w-7e6d5c4b"
	f.cliIn(secret, "env", "set", "--project", "mono", "--env", "production", "--service", "api", "--secret", "PRINTED_SECRET")
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("deployment ended %s %v", d.Status, d.Error)
	}
	if status, body := f.get("api", "/env/PRINTED_SECRET"); status != 200 || body != secret {
		t.Fatalf("the release has PRINTED_SECRET=%q (%d)", body, status)
	}

	followScrubbed(t, f, "mono", "api", secret, 30*time.Second)
}

// followScrubbed runs liftoff logs -f on a production service that has
// the secret variable PRINTED_SECRET, makes the service print a line, the
// secret and another line (e2e/testdata/webserver's /say and /print), and
// checks that the follow printed both lines and the secret only as
// [REDACTED]. wait bounds each wait for a line.
func followScrubbed(t *testing.T, f *fixture, project, service, secret string, wait time.Duration) {
	t.Helper()
	cmd := exec.Command(binary, "--server", f.srv.url(), "--api-key", f.key,
		"logs", "-f", "--project", project, "--env", "production", "--service", service)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	var got []string
	// waitLine reads what liftoff logs -f prints until a line holds s.
	waitLine := func(s string) {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("liftoff logs -f ended before printing %q: %s\n%s", s, stderr.String(), strings.Join(got, "\n"))
				}
				got = append(got, l)
				if strings.Contains(l, s) {
					return
				}
			case <-timeout:
				t.Fatalf("liftoff logs -f did not print %q within %s:\n%s", s, wait, strings.Join(got, "\n"))
			}
		}
	}
	say := func(text string) {
		t.Helper()
		if status, body := f.get(service, "/say?text="+text); status != 200 {
			t.Fatalf("/say answered %d %q", status, body)
		}
	}
	say("before-the-secret")
	waitLine("before-the-secret")
	// Printed once the command printed the line above: it can only come
	// through the follow.
	if status, body := f.get(service, "/print/PRINTED_SECRET"); status != 200 {
		t.Fatalf("/print answered %d %q", status, body)
	}
	say("after-the-secret")
	waitLine("after-the-secret")

	const printed = "PRINTED_SECRET=[REDACTED]"
	found := false
	for _, l := range got {
		if strings.Contains(l, secret) {
			t.Errorf("liftoff logs -f printed the secret's value: %q", l)
		}
		if strings.HasSuffix(l, " "+printed) {
			found = true
		}
	}
	if !found {
		t.Errorf("liftoff logs -f did not print %q:\n%s", printed, strings.Join(got, "\n"))
	}
}
