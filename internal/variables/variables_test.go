package variables

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

var t0 = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// fixture is a project with a production environment on a fresh store.
type fixture struct {
	svc  *Service
	st   store.Store
	env  liftoff.Environment
	keys string // the key file
}

func newFixture(t *testing.T, dialect string) fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, dialect)
	keys := filepath.Join(t.TempDir(), "secret.key")
	kr, _, err := secretbox.LoadOrCreate(keys)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProject(ctx, store.CreateProjectParams{ID: "p1", Name: "shop", Slug: "shop", RepoURL: "/srv/shop", ConfigPath: "flightcontrol.json", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	envs, err := st.SyncEnvironments(ctx, store.SyncEnvironmentsParams{ProjectID: p.ID, At: t0, NewServiceID: func() string { return "s" + t.Name() },
		Environments: []store.EnvironmentSpec{{GivenID: "production", Name: "Production", Branch: "main"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := New(st, kr)
	s.Now = func() time.Time { return t0 }
	return fixture{svc: s, st: st, env: envs[0], keys: keys}
}

func (f fixture) scope(service string) Scope {
	return Scope{ProjectID: f.env.ProjectID, EnvironmentID: f.env.ID, ServiceID: service}
}

func each(t *testing.T, fn func(t *testing.T, f fixture)) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, dialect))
		})
	}
}

// TestSetListUnset: every group is stored; a secret is listed masked and
// its value is nowhere in the database's rows; one bad name saves nothing.
func TestSetListUnset(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		n, err := f.svc.Set(ctx, f.scope(""), Groups{
			PlainText:          map[string]string{"LOG_LEVEL": "info"},
			ParameterStore:     map[string]string{"STRIPE_KEY": "sk_live_abcdef"},
			SecretsManager:     map[string]string{"DB_PASSWORD": "hunter2-hunter2"},
			FromParameterStore: map[string]string{"ALGOLIA_KEY": "/prod/algolia"},
			FromSecretsManager: map[string]string{"DB_URL": "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC"},
			FromService:        map[string]ServiceRef{"API_ORIGIN": {ID: "api", Value: "origin"}},
		})
		if err != nil || n != 6 {
			t.Fatalf("Set = %d, %v", n, err)
		}
		views, err := f.svc.List(ctx, f.scope(""))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]View{}
		for _, v := range views {
			got[v.Name] = v
		}
		if len(got) != 6 || got["LOG_LEVEL"].Value != "info" || got["STRIPE_KEY"].Value != Mask || got["DB_PASSWORD"].Value != Mask ||
			got["ALGOLIA_KEY"].Value != "/prod/algolia" || got["API_ORIGIN"].Value != `{"id":"api","value":"origin"}` ||
			got["DB_PASSWORD"].Kind != liftoff.VariableSecret || got["LOG_LEVEL"].Scope != "environment" {
			t.Fatalf("List = %+v", views)
		}
		rows, err := f.st.ListVariables(ctx, store.ListVariablesParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if strings.Contains(r.Value, "hunter2") || bytes.Contains(r.Sealed, []byte("hunter2")) || strings.Contains(r.Value, "sk_live") {
				t.Fatalf("a secret is stored in clear: %+v", r)
			}
		}
		// Listing the service scope does not show the environment's.
		if v, err := f.svc.List(ctx, f.scope("api")); err != nil || len(v) != 0 {
			t.Fatalf("List(service) = %+v, %v", v, err)
		}

		_, err = f.svc.Set(ctx, f.scope(""), Groups{
			PlainText:      map[string]string{"GOOD": "1", "9BAD": "x", "LOG_LEVEL": "debug"},
			SecretsManager: map[string]string{"GOOD": "dup"},
			FromService:    map[string]ServiceRef{"REF": {ID: "api"}},
		})
		if fail.KindOf(err) != fail.Invalid {
			t.Fatalf("Set of bad names = %v, want Invalid", err)
		}
		for _, want := range []string{"9BAD", "GOOD is in both", "fromService.REF"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "dup") {
			t.Errorf("error %q shows a secret's value", err)
		}
		after, err := f.svc.List(ctx, f.scope(""))
		if err != nil || len(after) != 6 {
			t.Fatalf("a refused call saved something: %+v, %v", after, err)
		}
		for _, v := range after {
			if v.Name == "LOG_LEVEL" && v.Value != "info" {
				t.Fatalf("LOG_LEVEL changed by a refused call: %+v", v)
			}
		}

		if err := f.svc.Unset(ctx, f.scope(""), "LOG_LEVEL"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Unset(ctx, f.scope(""), "LOG_LEVEL"); fail.KindOf(err) != fail.NotFound {
			t.Fatalf("Unset twice = %v, want NotFound", err)
		}
	})
}

// TestResolve: the API's levels merge project, environment, service, the
// file's win over them, references read named secrets (the environment's
// before the project's) and services, and every secret value is listed
// for scrubbing.
func TestResolve(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		project := Scope{ProjectID: f.env.ProjectID}
		mustSet(t, f, project, Groups{PlainText: map[string]string{"A": "project", "B": "project", "C": "project", "D": "project"}})
		mustSet(t, f, f.scope(""), Groups{PlainText: map[string]string{"B": "environment", "C": "environment"},
			SecretsManager: map[string]string{"TOKEN": "tok-environment-secret"}})
		mustSet(t, f, f.scope("web"), Groups{PlainText: map[string]string{"C": "service"},
			FromParameterStore: map[string]string{"ALGOLIA": "ALGOLIA_KEY"},
			FromService:        map[string]ServiceRef{"API": {ID: "api", Value: "origin"}, "DB": {ID: "db", Value: "dbConnectionString"}}})
		mustSet(t, f, f.scope("other"), Groups{PlainText: map[string]string{"A": "other service"}})
		if err := f.svc.SetSecret(ctx, f.env.ProjectID, 0, "ALGOLIA_KEY", "algolia-project-value"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SetSecret(ctx, f.env.ProjectID, f.env.ID, "ALGOLIA_KEY", "algolia-production-value"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.SetSecret(ctx, f.env.ProjectID, 0, "/prod/session", "session-secret-value"); err != nil {
			t.Fatal(err)
		}
		services := map[string]Address{
			"web": {Runs: true, Type: "web", Host: "web.production.localhost:8080", Origin: "http://web.production.localhost:8080", Port: 3000},
			"api": {Runs: true, Type: "web", Host: "api.production.localhost:8080", Origin: "http://api.production.localhost:8080", Port: 4000},
			"db":  {Runs: false, Type: "rds"},
		}
		var file config.EnvVars
		if err := json.Unmarshal([]byte(`{"D": "file", "SESSION": {"fromParameterStore": "/prod/session"}, "API_PORT": {"fromService": {"id": "api", "value": "port"}}}`), &file); err != nil {
			t.Fatal(err)
		}
		sn, err := f.svc.Load(ctx, f.env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{nil, file, nil}, Services: services})
		if fail.KindOf(err) != fail.Invalid || !strings.Contains(err.Error(), "variable DB of service web reads dbConnectionString of service db, which Liftoff does not run") ||
			!strings.Contains(err.Error(), "liftoff secrets set --project "+f.env.ProjectID+" --env production db.dbConnectionString") {
			t.Fatalf("Resolve with an unset database value = %v", err)
		}
		if err := f.svc.SetSecret(ctx, f.env.ProjectID, f.env.ID, "db.dbConnectionString", "postgres://u:pw-db@db/app"); err != nil {
			t.Fatal(err)
		}
		sn, err = f.svc.Load(ctx, f.env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{nil, file, nil}, Services: services})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"A": "project", "B": "environment", "C": "service", "D": "file", "TOKEN": "tok-environment-secret",
			"ALGOLIA": "algolia-production-value", "API": "http://api.production.localhost:8080", "DB": "postgres://u:pw-db@db/app",
			"SESSION": "session-secret-value", "API_PORT": "4000"}
		if !equalMaps(got.Env, want) {
			t.Fatalf("Resolve = %v\nwant %v", got.Env, want)
		}
		for _, secret := range []string{"tok-environment-secret", "algolia-production-value", "postgres://u:pw-db@db/app", "session-secret-value"} {
			if !contains(got.Secrets, secret) {
				t.Errorf("Secrets %q lacks %q", got.Secrets, secret)
			}
		}
		for name, secret := range map[string]bool{"TOKEN": true, "ALGOLIA": true, "DB": true, "SESSION": true, "A": false, "D": false, "API": false} {
			if got.SecretNames[name] != secret {
				t.Errorf("SecretNames[%s] = %v, want %v", name, got.SecretNames[name], secret)
			}
		}
		if contains(got.Secrets, "project") || got.Digest == "" {
			t.Errorf("Secrets %q, Digest %q", got.Secrets, got.Digest)
		}

		// A change to a variable the service reads changes its digest; one
		// to another service's does not.
		mustSet(t, f, f.scope("other"), Groups{PlainText: map[string]string{"A": "changed"}})
		again := resolve(t, f, "web", services, file)
		if again.Digest != got.Digest {
			t.Error("another service's variable changed web's digest")
		}
		mustSet(t, f, f.scope(""), Groups{SecretsManager: map[string]string{"TOKEN": "tok-environment-secret"}})
		if resolve(t, f, "web", services, file).Digest == got.Digest {
			t.Error("setting a secret again did not change the digest")
		}
		// A service reading nothing from the API keeps an empty digest.
		empty := newFixture(t, "sqlite")
		sn, err = empty.svc.Load(ctx, empty.env)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{{"X": {Value: "1"}}}}); err != nil || r.Digest != "" || r.Env["X"] != "1" {
			t.Fatalf("Resolve without API variables = %+v, %v", r, err)
		}
	})
}

// TestResolveErrors: each unresolvable reference names the variable, the
// service and what to do.
func TestResolveErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	services := map[string]Address{"worker": {Runs: true, Type: "worker"}, "web": {Runs: true, Type: "web"}}
	for _, c := range []struct{ file, want string }{
		{`{"K": {"fromParameterStore": "MISSING"}}`, "variable K of service web reads the secret MISSING, which is not set: set it with `liftoff secrets set --project p1 --env production MISSING`"},
		{`{"K": {"fromService": {"id": "nope", "value": "host"}}}`, "service nope, which this environment does not have"},
		{`{"K": {"fromService": {"id": "worker", "value": "host"}}}`, "a worker service, which has no address"},
		{`{"K": {"fromService": {"id": "worker", "value": "url"}}}`, `reads "url" of service worker: Liftoff gives host, origin and port`},
		{`{"K": {"fromService": "api"}}`, `takes {"id": "<service>", "value": "<what to read>"}`},
		{`{"K": {"fromSecretsManager": 3}}`, "takes the name of a secret"},
		{`{"K": [1]}`, "neither a string"},
	} {
		var file config.EnvVars
		if err := json.Unmarshal([]byte(c.file), &file); err != nil {
			t.Fatal(err)
		}
		sn, err := f.svc.Load(context.Background(), f.env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{file}, Services: services})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.file, err, c.want)
		}
	}
}

// TestResolvePrivateAddresses: a private service is read at the address
// the reader can reach: processes at the loopback one, containers at the
// container network's; a container told why it cannot reach one.
func TestResolvePrivateAddresses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	services := map[string]Address{
		"api": {Runs: true, Type: "web-private", Host: "127.0.0.1:41234", Origin: "http://127.0.0.1:41234", Port: 41234,
			ContainerHost: "10.88.0.1:41234", ContainerOrigin: "http://10.88.0.1:41234"},
		"jobs": {Runs: true, Type: "web-private", Host: "127.0.0.1:41235", Origin: "http://127.0.0.1:41235", Port: 41235,
			ContainerErr: errors.New("this Liftoff has no container CLI")},
	}
	var file config.EnvVars
	if err := json.Unmarshal([]byte(`{"API_HOST": {"fromService": {"id": "api", "value": "host"}}, "API": {"fromService": {"id": "api", "value": "origin"}},
		"API_PORT": {"fromService": {"id": "api", "value": "port"}}}`), &file); err != nil {
		t.Fatal(err)
	}
	sn, err := f.svc.Load(context.Background(), f.env)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		container bool
		want      map[string]string
	}{
		{false, map[string]string{"API_HOST": "127.0.0.1:41234", "API": "http://127.0.0.1:41234", "API_PORT": "41234"}},
		{true, map[string]string{"API_HOST": "10.88.0.1:41234", "API": "http://10.88.0.1:41234", "API_PORT": "41234"}},
	} {
		got, err := sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{file}, Services: services, Container: c.container})
		if err != nil || !equalMaps(got.Env, c.want) {
			t.Errorf("container %v: Resolve = %v, %v; want %v", c.container, got.Env, err, c.want)
		}
	}
	var jobs config.EnvVars
	if err := json.Unmarshal([]byte(`{"JOBS": {"fromService": {"id": "jobs", "value": "origin"}}}`), &jobs); err != nil {
		t.Fatal(err)
	}
	if got, err := sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{jobs}, Services: services}); err != nil || got.Env["JOBS"] != "http://127.0.0.1:41235" {
		t.Errorf("a process reading jobs: %v, %v", got.Env, err)
	}
	_, err = sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{jobs}, Services: services, Container: true})
	if err == nil || !strings.Contains(err.Error(), "reads origin of service jobs, which containers cannot reach: this Liftoff has no container CLI") {
		t.Errorf("a container reading jobs: %v", err)
	}
}

// TestRotateKey: after a rotation every value (secret variables, named
// secrets, repository credentials, certificate items, managed resources'
// passwords) opens under the new key
// only, and the old key is gone from the file.
func TestRotateKey(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		ctx := context.Background()
		mustSet(t, f, f.scope("web"), Groups{SecretsManager: map[string]string{"TOKEN": "t-value"}, PlainText: map[string]string{"P": "plain"}})
		if err := f.svc.SetSecret(ctx, f.env.ProjectID, 0, "NAMED", "n-value"); err != nil {
			t.Fatal(err)
		}
		// A repository credential, sealed as package project seals it.
		sealedCred, err := f.svc.Keys.SealText("x-access-token:ghp_rotate", liftoff.RepoCredentialAAD(f.env.ProjectID))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := f.st.ReplaceRepoCredential(ctx, store.ReplaceRepoCredentialParams{ProjectID: f.env.ProjectID,
			New: liftoff.RepoCredential{Userinfo: sealedCred}}); err != nil || !ok {
			t.Fatalf("store a credential: %v, %v", ok, err)
		}
		// An environment's shared password, sealed as package protect
		// seals it.
		pwAAD := liftoff.ProtectionPasswordAAD(f.env.ID)
		pwKey, pwSealed, err := f.svc.Keys.Seal([]byte("open sesame"), pwAAD)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.SetEnvironmentProtection(ctx, store.SetEnvironmentProtectionParams{EnvironmentID: f.env.ID,
			Password: &store.SealedValue{KeyID: pwKey, Sealed: pwSealed}, At: t0}); err != nil {
			t.Fatal(err)
		}
		// A private key of the certificate storage, sealed as package
		// certstore seals it.
		const certKey = "certificates/acme-v02.api.letsencrypt.org-directory/example.com/example.com.key"
		certPEM := []byte("-----BEGIN EC PRIVATE KEY-----\nrotate\n-----END EC PRIVATE KEY-----\n")
		certKeyID, sealedItem, err := f.svc.Keys.Seal(certPEM, liftoff.CertificateItemAAD(certKey))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.PutCertificateItem(ctx, liftoff.CertificateItem{Key: certKey, KeyID: certKeyID, Sealed: sealedItem,
			Size: int64(len(certPEM)), UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// A managed database's password, sealed as package resources
		// seals it.
		dbAAD := liftoff.ManagedResourceAAD("postgres", "lo_shop_production_db_1a2b3c4d")
		dbKey, dbSealed, err := f.svc.Keys.Seal([]byte("db-password"), dbAAD)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.InsertManagedResource(ctx, liftoff.ManagedResource{ID: "r1", ProjectID: f.env.ProjectID, EnvironmentID: f.env.ID,
			ServiceID: "db", Kind: "postgres", Name: "lo_shop_production_db_1a2b3c4d", KeyID: dbKey, Sealed: dbSealed,
			State: liftoff.ResourceAvailable, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// A webhook's signing secret, sealed as package notify seals it.
		hookAAD := liftoff.NotificationSecretAAD("n1")
		hookKey, hookSealed, err := f.svc.Keys.Seal([]byte("whsec_rotate"), hookAAD)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreateNotificationEndpoint(ctx, liftoff.NotificationEndpoint{ID: "n1", ProjectID: f.env.ProjectID, EnvironmentID: f.env.ID,
			URL: "https://hooks.example.com/x", Format: liftoff.NotificationJSON, Source: liftoff.NotificationFromAPI, KeyID: hookKey,
			Sealed: hookSealed, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		old := f.svc.Keys.Primary()
		oldFile, err := os.ReadFile(f.keys)
		if err != nil {
			t.Fatal(err)
		}
		keyID, n, err := f.svc.RotateKey(ctx)
		if err != nil || n != 7 || keyID == old {
			t.Fatalf("RotateKey = %s, %d, %v", keyID, n, err)
		}
		vars, _ := f.st.ListVariables(ctx, store.ListVariablesParams{})
		secrets, _ := f.st.ListSecrets(ctx, store.ListVariablesParams{})
		for _, v := range vars {
			if v.Kind == liftoff.VariableSecret && v.KeyID != keyID {
				t.Errorf("variable %s still under key %s", v.Name, v.KeyID)
			}
		}
		if len(secrets) != 1 || secrets[0].KeyID != keyID {
			t.Errorf("secrets after rotation: %+v", secrets)
		}
		cred, err := f.st.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: f.env.ProjectID})
		if err != nil || secretbox.TextKeyID(cred.Userinfo) != keyID {
			t.Fatalf("the credential after rotation is under key %q, %v", secretbox.TextKeyID(cred.Userinfo), err)
		}
		if plain, err := f.svc.Keys.OpenText(cred.Userinfo, liftoff.RepoCredentialAAD(f.env.ProjectID)); err != nil || plain != "x-access-token:ghp_rotate" {
			t.Fatalf("the credential after rotation opens to %q, %v", plain, err)
		}
		pw, err := f.st.GetEnvironmentProtection(ctx, store.GetEnvironmentProtectionParams{EnvironmentID: f.env.ID})
		if err != nil || pw.PasswordKeyID != keyID {
			t.Fatalf("the password after rotation is under key %q, %v", pw.PasswordKeyID, err)
		}
		if plain, err := f.svc.Keys.Open(pw.PasswordKeyID, pw.PasswordSealed, pwAAD); err != nil || string(plain) != "open sesame" {
			t.Fatalf("the password after rotation opens to %q, %v", plain, err)
		}
		item, err := f.st.GetCertificateItem(ctx, store.GetCertificateItemParams{Key: certKey})
		if err != nil || item.KeyID != keyID || !item.UpdatedAt.Equal(t0) {
			t.Fatalf("the certificate item after rotation: %+v, %v; want it under key %s, its time kept", item, err, keyID)
		}
		if plain, err := f.svc.Keys.Open(item.KeyID, item.Sealed, liftoff.CertificateItemAAD(certKey)); err != nil || !bytes.Equal(plain, certPEM) {
			t.Fatalf("the certificate item after rotation opens to %q, %v", plain, err)
		}
		db, err := f.st.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: f.env.ID, ServiceID: "db"})
		if err != nil || db.KeyID != keyID {
			t.Fatalf("the database's password after rotation: %+v, %v; want it under key %s", db, err, keyID)
		}
		if plain, err := f.svc.Keys.Open(db.KeyID, db.Sealed, dbAAD); err != nil || string(plain) != "db-password" {
			t.Fatalf("the database's password after rotation opens to %q, %v", plain, err)
		}
		hook, err := f.st.GetNotificationEndpoint(ctx, store.GetNotificationEndpointParams{ID: "n1"})
		if err != nil || hook.KeyID != keyID {
			t.Fatalf("the webhook's secret after rotation: %+v, %v; want it under key %s", hook, err, keyID)
		}
		if plain, err := f.svc.Keys.Open(hook.KeyID, hook.Sealed, hookAAD); err != nil || string(plain) != "whsec_rotate" {
			t.Fatalf("the webhook's secret after rotation opens to %q, %v", plain, err)
		}
		newFile, _ := os.ReadFile(f.keys)
		if bytes.Contains(newFile, []byte(old)) || bytes.Equal(newFile, oldFile) {
			t.Errorf("the old key %s is still in the key file", old)
		}
		var file config.EnvVars
		_ = json.Unmarshal([]byte(`{"N": {"fromParameterStore": "NAMED"}}`), &file)
		r := resolve(t, f, "web", nil, file)
		if r.Env["TOKEN"] != "t-value" || r.Env["N"] != "n-value" || r.Env["P"] != "plain" {
			t.Fatalf("after rotation: %v", r.Env)
		}
		// A keyring of the old file cannot open the new values.
		oldPath := filepath.Join(t.TempDir(), "old.key")
		if err := os.WriteFile(oldPath, oldFile, 0o600); err != nil {
			t.Fatal(err)
		}
		oldRing, err := secretbox.Load(oldPath)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := oldRing.Open(secrets[0].KeyID, secrets[0].Sealed, secretAAD(secrets[0])); !errors.Is(err, secretbox.ErrUnknownKey) {
			t.Fatalf("the old key file opened a resealed value: %v", err)
		}
		if _, err := oldRing.Open(item.KeyID, item.Sealed, liftoff.CertificateItemAAD(certKey)); !errors.Is(err, secretbox.ErrUnknownKey) {
			t.Fatalf("the old key file opened a resealed certificate item: %v", err)
		}
	})
}

func mustSet(t *testing.T, f fixture, scope Scope, g Groups) {
	t.Helper()
	if _, err := f.svc.Set(context.Background(), scope, g); err != nil {
		t.Fatal(err)
	}
}

func resolve(t *testing.T, f fixture, service string, services map[string]Address, file config.EnvVars) Resolved {
	t.Helper()
	sn, err := f.svc.Load(context.Background(), f.env)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sn.Resolve(Input{ServiceID: service, File: []config.EnvVars{nil, file, nil}, Services: services})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestResolveManagedResources: fromService reads a managed resource's
// values; its secret ones are scrubbed, the variables it implies are set
// unless the service sets them, a value it does not give is an error
// naming those it gives, and a resource made anew changes the digest.
func TestResolveManagedResources(t *testing.T) {
	each(t, func(t *testing.T, f fixture) {
		db := Address{Type: "rds", Version: "r1",
			Values: map[string]string{"dbConnectionString": "postgres://u:pw@h/db", "host": "h", "password": "pw"},
			Secret: map[string]bool{"dbConnectionString": true, "password": true}}
		cache := Address{Type: "elasticache", Version: "r2", Values: map[string]string{"connectionString": "redis://u:tok@h"},
			Secret: map[string]bool{"connectionString": true}, Env: map[string]string{"LIFTOFF_REDIS_PREFIX": "lo_x:"}}
		var file config.EnvVars
		_ = json.Unmarshal([]byte(`{"DATABASE_URL": {"fromService": {"id": "db", "value": "dbConnectionString"}},
			"DB_HOST": {"fromService": {"id": "db", "value": "host"}},
			"REDIS_URL": {"fromService": {"id": "cache", "value": "connectionString"}}}`), &file)
		r := resolve(t, f, "web", map[string]Address{"db": db, "cache": cache}, file)
		want := map[string]string{"DATABASE_URL": "postgres://u:pw@h/db", "DB_HOST": "h", "REDIS_URL": "redis://u:tok@h", "LIFTOFF_REDIS_PREFIX": "lo_x:"}
		if !equalMaps(r.Env, want) {
			t.Errorf("Env = %v, want %v", r.Env, want)
		}
		if !contains(r.Secrets, "postgres://u:pw@h/db") || !contains(r.Secrets, "redis://u:tok@h") || contains(r.Secrets, "h") {
			t.Errorf("Secrets = %v", r.Secrets)
		}
		if !r.SecretNames["DATABASE_URL"] || r.SecretNames["DB_HOST"] || r.Digest == "" {
			t.Errorf("SecretNames = %v, digest %q", r.SecretNames, r.Digest)
		}
		// The service's own LIFTOFF_REDIS_PREFIX wins.
		file = nil
		_ = json.Unmarshal([]byte(`{"REDIS_URL": {"fromService": {"id": "cache", "value": "connectionString"}}, "LIFTOFF_REDIS_PREFIX": "mine:"}`), &file)
		if r := resolve(t, f, "web", map[string]Address{"cache": cache}, file); r.Env["LIFTOFF_REDIS_PREFIX"] != "mine:" {
			t.Errorf("a set LIFTOFF_REDIS_PREFIX became %q", r.Env["LIFTOFF_REDIS_PREFIX"])
		}
		// Made anew: another digest.
		file = nil
		_ = json.Unmarshal([]byte(`{"DATABASE_URL": {"fromService": {"id": "db", "value": "dbConnectionString"}}}`), &file)
		before := resolve(t, f, "web", map[string]Address{"db": db}, file).Digest
		db.Version = "r3"
		if after := resolve(t, f, "web", map[string]Address{"db": db}, file).Digest; after == before {
			t.Error("a database made anew left the digest as it was")
		}
		// A value it does not give.
		file = nil
		_ = json.Unmarshal([]byte(`{"X": {"fromService": {"id": "db", "value": "origin"}}}`), &file)
		sn, err := f.svc.Load(context.Background(), f.env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sn.Resolve(Input{ServiceID: "web", File: []config.EnvVars{nil, file, nil}, Services: map[string]Address{"db": db}})
		if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "it gives dbConnectionString, host, password") {
			t.Errorf("an unknown value: %v", err)
		}
	})
}
