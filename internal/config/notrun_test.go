package config

import "testing"

func TestNotRun(t *testing.T) {
	t.Parallel()
	web, db, cache := Service{ID: "web", Type: TypeWeb, StartCommand: Shell("./web")}, Service{ID: "db", Type: "rds"}, Service{ID: "cache", Type: "elasticache"}
	for _, tt := range []struct {
		name     string
		services []Service
		summary  string
	}{
		{"two not run", []Service{db, cache}, "db is rds, cache is elasticache (not run by Liftoff)"},
		{"only those not run are named", []Service{web, db}, "db is rds (not run by Liftoff)"},
		{"none", nil, "its config lists no services"},
	} {
		if got := NotRunSummary(tt.services); got != tt.summary {
			t.Errorf("%s: NotRunSummary = %q, want %q", tt.name, got, tt.summary)
		}
	}
	if got := db.NotRunReason(); got != "type rds does not run on Liftoff" {
		t.Errorf("NotRunReason of rds = %q", got)
	}
	// Managed resources: made on the operator's servers, not run.
	for _, tt := range []struct {
		svc     Service
		managed string
		reason  string // without a server of its kind
	}{
		{Service{Type: "rds", Engine: "postgres"}, ManagedPostgres, "no managed PostgreSQL configured (liftoff serve --managed-postgres-url)"},
		{Service{Type: "elasticache"}, ManagedRedis, "no managed Redis configured (liftoff serve --managed-redis-url)"},
		{Service{Type: "elasticache", Engine: "redis"}, ManagedRedis, "no managed Redis configured (liftoff serve --managed-redis-url)"},
		{Service{Type: "rds", Engine: "mysql"}, "", ""},
		{Service{Type: "rds", Engine: "mariadb"}, "", ""},
		{Service{Type: "rds"}, "", ""},
		{Service{Type: TypeWeb, StartCommand: Shell("./web")}, "", ""},
	} {
		if got := tt.svc.Managed(); got != tt.managed {
			t.Errorf("%s %s: Managed = %q, want %q", tt.svc.Type, tt.svc.Engine, got, tt.managed)
		}
		if got := tt.svc.NotManagedReason(nil); got != tt.reason {
			t.Errorf("%s %s: NotManagedReason = %q, want %q", tt.svc.Type, tt.svc.Engine, got, tt.reason)
		}
		if got := tt.svc.NotManagedReason(map[string]bool{ManagedPostgres: true, ManagedRedis: true}); got != "" {
			t.Errorf("%s %s with both servers: NotManagedReason = %q", tt.svc.Type, tt.svc.Engine, got)
		}
		if tt.managed != "" && tt.svc.Runnable() {
			t.Errorf("%s: a managed resource is made, not run", tt.svc.Type)
		}
	}
	if got := (Service{Type: "rds", Engine: "mysql"}).NotRunReason(); got != "engine mysql: Liftoff manages PostgreSQL databases only (engine postgres)" {
		t.Errorf("NotRunReason of rds mysql = %q", got)
	}
	for _, typ := range []string{TypeWeb, TypeWebPrivate, TypeWorker, TypeStatic} {
		if s := (Service{Type: typ, StartCommand: Shell("./run")}); s.NotRunReason() != "" || !s.Runnable() {
			t.Errorf("%s: NotRunReason %q, Runnable %v", typ, s.NotRunReason(), s.Runnable())
		}
	}
	// From an image: every runnable type from a Dockerfile, all but static
	// from a prebuilt image; none on the command target.
	image := &ContainerImage{Repository: "busybox"}
	for _, typ := range []string{TypeWeb, TypeWebPrivate, TypeWorker, TypeStatic, TypeScheduler} {
		if s := (Service{Type: typ, BuildType: BuildDocker}); !s.Runnable() {
			t.Errorf("%s from a Dockerfile is not run: %q", typ, s.NotRunReason())
		}
		s := Service{Type: typ, ContainerImage: image}
		if s.Runnable() == (typ == TypeStatic) {
			t.Errorf("%s from a prebuilt image: Runnable %v (%q)", typ, s.Runnable(), s.NotRunReason())
		}
		if s := (Service{Type: typ, BuildType: BuildDocker, Target: Target{Type: TargetCommand}}); s.Runnable() {
			t.Errorf("%s from a Dockerfile on the command target is run", typ)
		}
	}
}

// TestDeploys: an environment deploys something when it has a service
// Liftoff runs, or a managed one whose server the operator gave.
func TestDeploys(t *testing.T) {
	t.Parallel()
	web := Service{ID: "web", Type: TypeWeb, StartCommand: Shell("./web")}
	db, cache, s3 := Service{ID: "db", Type: "rds", Engine: "postgres"}, Service{ID: "cache", Type: "elasticache"}, Service{ID: "b", Type: "s3"}
	pg := map[string]bool{ManagedPostgres: true}
	for _, tt := range []struct {
		name     string
		services []Service
		avail    map[string]bool
		want     bool
	}{
		{"a web service", []Service{web, s3}, nil, true},
		{"only a database, no server", []Service{db, s3}, nil, false},
		{"only a database, with its server", []Service{db}, pg, true},
		{"only a Redis, with PostgreSQL only", []Service{cache}, pg, false},
		{"nothing", nil, pg, false},
	} {
		env := Environment{Services: tt.services}
		if got := env.Deploys(tt.avail); got != tt.want {
			t.Errorf("%s: Deploys = %v, want %v", tt.name, got, tt.want)
		}
	}
}
