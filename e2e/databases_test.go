package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	rt "github.com/liftoffhq/liftoff/internal/resources/resourcestest"
)

// databasesConfig is a Flightcontrol file whose web service reads a
// PostgreSQL database and a Redis of its own in each environment and
// preview, made by Liftoff.
func databasesConfig() string {
	services := `[
  {"id": "api", "name": "API", "type": "fargate", "startCommand": "` + webserver + `", "healthCheckPath": "/health",
   "dependsOn": ["db", "cache"],
   "envVariables": {"DATABASE_URL": {"fromService": {"id": "db", "value": "dbConnectionString"}},
    "REDIS_URL": {"fromService": {"id": "cache", "value": "connectionString"}},
    "DB_NAME": {"fromService": {"id": "db", "value": "dbName"}}}},
  {"id": "db", "name": "Database", "type": "rds", "engine": "postgres", "engineVersion": "16", "instanceSize": "db.t4g.micro"},
  {"id": "cache", "name": "Cache", "type": "elasticache", "engine": "redis"}
]`
	// A preview's database starts as a copy of production's.
	previewServices := strings.Replace(services, `"engine": "postgres",`, `"engine": "postgres", "seedFromEnvironment": "production",`, 1)
	return `{"environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": ` + services + `},
  {"id": "preview", "name": "Previews", "source": {"pr": true}, "services": ` + previewServices + `}
]}`
}

// newDatabasesFixture runs Liftoff with a managed PostgreSQL and Redis of
// the test servers (accounts of least privilege, removed with all they
// made when the test ends) and the project of databasesConfig.
func newDatabasesFixture(t *testing.T, pgURL string) *fixture {
	t.Helper()
	slug := "db" + rt.Suffix()
	redisURL := rt.RedisAdmin(t, "lo_"+slug+"_")
	f := &fixture{t: t, logs: &logLines{}, serve: []string{"--managed-postgres-url", pgURL, "--managed-redis-url", redisURL}}
	f.flags = storeFlags(t, "sqlite", t.TempDir())
	f.key = bootstrapKey(t, f.flags)
	f.start()
	f.repo = gittest.New(t)
	f.repo.Commit("init", map[string]string{"flightcontrol.json": databasesConfig(), "version.txt": "v1"})
	ctx := ctxT(t)
	var err error
	if f.project, err = f.c.CreateProject(ctx, slug, f.repo.Dir, ""); err != nil {
		t.Fatal(err)
	}
	if f.hook, err = f.c.CreateHook(ctx, f.project.Environments[0].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	if f.previewHook, err = f.c.CreateHook(ctx, f.project.Environments[1].EnvironmentID, "CI"); err != nil {
		t.Fatal(err)
	}
	f.publicPreviews()
	return f
}

// TestManagedDatabases: a web service reads DATABASE_URL and REDIS_URL
// from an rds and an elasticache service; each environment and preview
// gets its own, made before the service builds and kept across
// deployments, a preview's database a copy of production's; one preview's credentials cannot read another's data; a
// preview's teardown drops its database, role, Redis user and keys and
// leaves the others; no password reaches a log; a dump restores with
// pg_restore; and the operator's explicit delete drops production's,
// made anew, empty, by the next deployment.
func TestManagedDatabases(t *testing.T) {
	t.Parallel()
	pgAdmin := rt.PostgresAdmin(t)
	f := newDatabasesFixture(t, pgAdmin)
	ctx := ctxT(t)
	prod := f.project.Environments[0].EnvironmentID

	d := f.deploy("")
	if d.Status != "SUCCESS" {
		logs, _ := f.c.Logs(ctx, d.DeploymentID, "")
		t.Fatalf("first deployment: %s %+v\n%s", d.Status, d.Error, logs)
	}
	for _, id := range []string{"db", "cache"} {
		s := service(t, d, id)
		if s.Status != "SUCCESS" || !strings.HasPrefix(reason(s), "made its ") {
			t.Errorf("%s: %s %q", id, s.Status, reason(s))
		}
	}
	if status, body := f.get("api", "/data/put?value=production-note"); status != 200 || body != "stored" {
		t.Fatalf("production stores: %d %s", status, body)
	}
	if _, body := f.get("api", "/data/get"); body != "pg=production-note redis=production-note" {
		t.Fatalf("production reads %q", body)
	}
	_, prodDB := f.get("api", "/env/DATABASE_URL")
	_, prodRedis := f.get("api", "/env/REDIS_URL")
	_, prefix := f.get("api", "/env/LIFTOFF_REDIS_PREFIX")
	if !strings.HasPrefix(prodDB, "postgres://lo_") || !strings.HasPrefix(prodRedis, "redis://lo_") || !strings.HasSuffix(prefix, ":") {
		t.Fatalf("DATABASE_URL %q, REDIS_URL %q, LIFTOFF_REDIS_PREFIX %q", prodDB, prodRedis, prefix)
	}

	// The environment shows them as services, available.
	env, err := f.c.Environment(ctx, prod)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range env.Services {
		if (s.ServiceGivenID == "db" || s.ServiceGivenID == "cache") && (!s.Deployed || s.State != "available") {
			t.Errorf("environment shows %s as deployed %v, state %q", s.ServiceGivenID, s.Deployed, s.State)
		}
	}
	out := f.cliIn("", "envs", "get", strconv.FormatInt(prod, 10))
	if !strings.Contains(out, "available") {
		t.Errorf("liftoff envs get shows no available database:\n%s", out)
	}

	// Kept across deployments.
	d = f.deploy("force=true")
	if s := service(t, d, "db"); d.Status != "SUCCESS" || s.Status != "NO_CHANGE" || !strings.Contains(reason(s), "is kept") {
		t.Fatalf("second deployment: %s, db %s %q", d.Status, s.Status, reason(s))
	}
	if _, body := f.get("api", "/data/get"); body != "pg=production-note redis=production-note" {
		t.Fatalf("production reads %q after its second deployment", body)
	}

	// Two previews, two databases and Redis users.
	urls := map[int][2]string{}
	for _, pr := range []int{1, 2} {
		sha := f.branch("feature-"+string(rune('0'+pr)), map[string]string{"version.txt": "pr"})
		if d := f.wait(callHook(t, f.previewURL(pr, sha))); d.Status != "SUCCESS" {
			t.Fatalf("PR %d: %s %+v", pr, d.Status, d.Error)
		}
		host := "api.pr-" + string(rune('0'+pr)) + ".preview.localhost"
		// Seeded from production's database; its Redis starts empty.
		if _, body := f.getHost(host, "/data/get"); body != "pg=production-note redis=" {
			t.Errorf("PR %d's new database reads %q, want a copy of production's", pr, body)
		}
		value := "pr" + string(rune('0'+pr)) + "-note"
		if status, body := f.getHost(host, "/data/put?value="+value); status != 200 {
			t.Fatalf("PR %d stores: %d %s", pr, status, body)
		}
		if _, body := f.getHost(host, "/data/get"); body != "pg="+value+" redis="+value {
			t.Fatalf("PR %d reads %q", pr, body)
		}
		_, db := f.getHost(host, "/env/DATABASE_URL")
		_, rd := f.getHost(host, "/env/REDIS_URL")
		urls[pr] = [2]string{db, rd}
	}
	if urls[1][0] == urls[2][0] || urls[1][0] == prodDB || urls[1][1] == urls[2][1] {
		t.Fatalf("previews share databases or users: %v, production %s", urls, prodDB)
	}
	// PR 1's credentials on PR 2's database and keys: refused.
	pr1User, pr2Name := userOf(t, urls[1][0]), userOf(t, urls[2][0])
	_, pr1Password := passwordOf(t, urls[1][0])
	if _, err := pgRead(ctx, rt.WithUser(t, urls[2][0], pr1User, pr1Password)); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("PR 1's role on PR 2's database: %v, want permission denied", err)
	}
	pr1Redis := rt.RedisClient(t, urls[1][1])
	if err := pr1Redis.Get(ctx, userOf(t, urls[2][1])+":note").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("PR 1's Redis user reads PR 2's key: %v, want NOPERM", err)
	}

	// No password in the deployments' output or the server's log.
	passwords := []string{}
	for _, u := range []string{prodDB, prodRedis, urls[1][0], urls[1][1], urls[2][0], urls[2][1]} {
		_, pw := passwordOf(t, u)
		passwords = append(passwords, pw)
	}
	list, err := f.c.Deployments(ctx, client.DeploymentFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var written strings.Builder
	for _, d := range list.Deployments {
		logs, _ := f.c.Logs(ctx, d.DeploymentID, "")
		written.WriteString(logs)
	}
	written.WriteString(strings.Join(f.logs.all(), "\n"))
	for _, pw := range passwords {
		if strings.Contains(written.String(), pw) {
			t.Errorf("a password of a managed resource is in the output or the server's log")
		}
	}

	// PR 1 torn down: its database, role, Redis user and keys go; PR 2's
	// and production's stay.
	if _, err := f.c.DeletePreview(ctx, f.project.Environments[1].EnvironmentID, 1); err != nil {
		t.Fatal(err)
	}
	super := rt.PostgresURL(t)
	pr1Name := pr1User
	waitUntilUpTo(t, "PR 1's database and role are dropped", 3*time.Minute, func() bool {
		return len(rt.Strings(t, super, `SELECT datname FROM pg_database WHERE datname = $1 UNION ALL SELECT rolname FROM pg_roles WHERE rolname = $1`, pr1Name)) == 0
	})
	redisAdmin := rt.RedisClient(t, rt.RedisURL(t))
	waitUntilUpTo(t, "PR 1's Redis user and keys are dropped", 3*time.Minute, func() bool {
		n, err := redisAdmin.Exists(ctx, userOf(t, urls[1][1])+":note").Result()
		return err == nil && n == 0 && errors.Is(redisAdmin.Do(ctx, "ACL", "GETUSER", userOf(t, urls[1][1])).Err(), redis.Nil)
	})
	if _, body := f.getHost("api.pr-2.preview.localhost", "/data/get"); body != "pg=pr2-note redis=pr2-note" {
		t.Errorf("PR 2 reads %q after PR 1's teardown", body)
	}
	if _, body := f.get("api", "/data/get"); body != "pg=production-note redis=production-note" {
		t.Errorf("production reads %q after PR 1's teardown", body)
	}
	_ = pr2Name

	// A backup, restored with pg_restore into a database of the test's.
	dump := filepath.Join(t.TempDir(), "prod.dump")
	f.cliIn("", "resources", "dump", "--project", f.project.ProjectID, "--env", "production", "--service", "db", "--out", dump)
	if b, err := os.ReadFile(dump); err != nil || !bytes.HasPrefix(b, []byte("PGDMP")) {
		t.Fatalf("the dump: %v", err)
	}
	if _, err := exec.LookPath("pg_restore"); err == nil {
		restored := "lotest_restore_" + rt.Suffix()
		rt.Exec(t, super, `CREATE DATABASE `+restored)
		t.Cleanup(func() { rt.Exec(t, super, `DROP DATABASE IF EXISTS `+restored+` WITH (FORCE)`) })
		target := withDatabase(t, super, restored)
		cmd := exec.Command("pg_restore", "--no-owner", "--no-privileges", "--dbname", target, dump)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v\n%s", err, out)
		}
		if got, err := pgRead(ctx, target); err != nil || got != "production-note" {
			t.Errorf("the restored database reads %q, %v", got, err)
		}
	}

	// Dropped only when the operator says so, by name.
	cmd := exec.Command(binary, "--server", f.srv.url(), "--api-key", f.key, "resources", "delete", "--project", f.project.ProjectID,
		"--env", "production", "--service", "db")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "--yes") {
		t.Errorf("resources delete without --yes: %v\n%s", err, out)
	}
	out = f.cliIn("", "resources", "delete", "--project", f.project.ProjectID, "--env", "production", "--service", "db", "--yes")
	if !strings.Contains(out, "Dropped the database and role") {
		t.Errorf("resources delete said %q", out)
	}
	if got := rt.Strings(t, super, `SELECT datname FROM pg_database WHERE datname = $1`, userOf(t, prodDB)); len(got) != 0 {
		t.Errorf("production's database after resources delete: %v", got)
	}
	d = f.deploy("")
	if s := service(t, d, "db"); d.Status != "SUCCESS" || s.Status != "SUCCESS" {
		t.Fatalf("deployment after the delete: %s, db %s %q", d.Status, s.Status, reason(s))
	}
	if _, body := f.get("api", "/data/get"); body != "pg= redis=production-note" {
		t.Errorf("production reads %q from its new database, want it empty", body)
	}
}

// TestManagedDatabaseServerDown: with the PostgreSQL server unreachable
// (a proxy of the test's, closed), a deployment fails with the reason and
// makes nothing; once it is back, the next one succeeds.
func TestManagedDatabaseServerDown(t *testing.T) {
	t.Parallel()
	admin := rt.PostgresAdmin(t)
	proxy := newTCPProxy(t, hostPort(t, admin))
	f := newDatabasesFixture(t, hostPortIs(t, admin, proxy.addr))
	ctx := ctxT(t)

	proxy.setDown(true)
	d := f.deploy("")
	if d.Status != "ERROR" || len(d.Error) == 0 || !strings.Contains(d.Error[0]["ERROR"], "db: could not make its PostgreSQL database") ||
		!strings.Contains(d.Error[0]["ERROR"], "connect to the managed PostgreSQL server") {
		t.Fatalf("deployment with the server down: %s %+v", d.Status, d.Error)
	}
	for _, s := range d.ServiceDeployments {
		if s.Service.ServiceGivenID == "api" && s.Status == "SUCCESS" {
			t.Errorf("api deployed without its database")
		}
	}
	if list, err := f.c.Resources(ctx, f.project.Environments[0].EnvironmentID); err != nil || len(list) != 0 {
		t.Errorf("resources after the failure: %+v, %v", list, err)
	}

	proxy.setDown(false)
	if d := f.deploy(""); d.Status != "SUCCESS" {
		t.Fatalf("deployment once the server is back: %s %+v", d.Status, d.Error)
	}
	if status, body := f.get("api", "/data/put?value=back"); status != 200 {
		t.Fatalf("stores once back: %d %s", status, body)
	}
}

// tcpProxy forwards connections to a server, or refuses them while down.
type tcpProxy struct {
	addr string
	mu   sync.Mutex
	down bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	p := &tcpProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				_ = c.Close()
				continue
			}
			go func() {
				defer func() { _ = c.Close() }()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = s.Close() }()
				go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	return p
}

func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// userOf is the user of a database or Redis URL.
func userOf(t *testing.T, u string) string {
	t.Helper()
	user, _ := passwordOf(t, u)
	return user
}

func passwordOf(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := parseURL(raw)
	if err != nil || u.User == nil {
		t.Fatalf("URL %q has no user: %v", raw, err)
	}
	pw, _ := u.User.Password()
	return u.User.Username(), pw
}

// pgRead reads the last note of the database at url.
func pgRead(ctx context.Context, url string) (string, error) {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close(ctx) }()
	var v string
	err = c.QueryRow(ctx, `SELECT value FROM notes ORDER BY id DESC LIMIT 1`).Scan(&v)
	return v, err
}

// hostPort is the host:port of a URL.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := parseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// hostPortIs is raw with another host:port.
func hostPortIs(t *testing.T, raw, addr string) string {
	t.Helper()
	u, err := parseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// withDatabase is raw with another database.
func withDatabase(t *testing.T, raw, db string) string {
	t.Helper()
	u, err := parseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

func parseURL(raw string) (*url.URL, error) { return url.Parse(raw) }
