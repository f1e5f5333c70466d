package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// testVariables: variables and named secrets are put, replaced, listed by
// project and environment, resealed only while unchanged, deleted one by
// one and with their project.
func testVariables(t *testing.T, s store.Store) {
	ctx := context.Background()
	p, envs := seed(t, s)
	other, err := s.CreateProject(ctx, store.CreateProjectParams{ID: cuid.New(), Name: "other", Slug: "other", RepoURL: "/srv/other",
		ConfigPath: "liftoff.json", At: t0})
	if err != nil {
		t.Fatal(err)
	}
	prod := envs[0].ID
	vars := []liftoff.Variable{
		{ProjectID: p.ID, Name: "LOG_LEVEL", Kind: liftoff.VariablePlainText, Value: "info", UpdatedAt: t0},
		{ProjectID: p.ID, EnvironmentID: prod, Name: "LOG_LEVEL", Kind: liftoff.VariablePlainText, Value: "warn", UpdatedAt: t0},
		{ProjectID: p.ID, EnvironmentID: prod, ServiceID: "api", Name: "TOKEN", Kind: liftoff.VariableSecret, KeyID: "k1",
			Sealed: []byte{0, 1, 2, 0xff}, UpdatedAt: t0},
		{ProjectID: p.ID, EnvironmentID: envs[1].ID, Name: "DB", Kind: liftoff.VariableFromParameterStore, Value: "/staging/db", UpdatedAt: t0},
		{ProjectID: other.ID, Name: "LOG_LEVEL", Kind: liftoff.VariablePlainText, Value: "debug", UpdatedAt: t0},
	}
	if err := s.PutVariables(ctx, vars); err != nil {
		t.Fatal(err)
	}
	replaced := vars[1]
	replaced.Value, replaced.UpdatedAt = "error", t0.Add(time.Second)
	if err := s.PutVariables(ctx, []liftoff.Variable{replaced}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListVariables(ctx, store.ListVariablesParams{ProjectID: p.ID, EnvironmentIDs: []int64{0, prod}})
	if err != nil {
		t.Fatal(err)
	}
	want := []liftoff.Variable{vars[0], replaced, vars[2]}
	if !slices.EqualFunc(got, want, sameVariable) {
		t.Fatalf("ListVariables(project, [0, prod]) =\n%+v\nwant\n%+v", got, want)
	}
	if all, err := s.ListVariables(ctx, store.ListVariablesParams{}); err != nil || len(all) != 5 {
		t.Fatalf("ListVariables() = %d, %v; want all 5", len(all), err)
	}
	if none, err := s.ListVariables(ctx, store.ListVariablesParams{ProjectID: p.ID, EnvironmentIDs: []int64{}}); err != nil || len(none) != 0 {
		t.Fatalf("ListVariables(no environments) = %+v, %v", none, err)
	}

	// Resealing succeeds on the row as read, and not after it changed.
	at := t0.Add(2 * time.Second)
	if ok, err := s.ResealVariable(ctx, store.ResealParams[liftoff.Variable]{Old: vars[2], KeyID: "k2", Sealed: []byte{9}, At: at}); err != nil || !ok {
		t.Fatalf("ResealVariable = %v, %v", ok, err)
	}
	if ok, err := s.ResealVariable(ctx, store.ResealParams[liftoff.Variable]{Old: vars[2], KeyID: "k3", Sealed: []byte{8}, At: at}); err != nil || ok {
		t.Fatalf("ResealVariable of a stale row = %v, %v; want false", ok, err)
	}

	err = s.DeleteVariable(ctx, store.DeleteVariableParams{ProjectID: p.ID, EnvironmentID: prod, ServiceID: "api", Name: "TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	err = s.DeleteVariable(ctx, store.DeleteVariableParams{ProjectID: p.ID, EnvironmentID: prod, ServiceID: "api", Name: "TOKEN"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v, want ErrNotFound", err)
	}

	secrets := []liftoff.Secret{
		{ProjectID: p.ID, Name: "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC", KeyID: "k1", Sealed: []byte("x"), UpdatedAt: t0},
		{ProjectID: p.ID, EnvironmentID: prod, Name: "/prod/db", KeyID: "k1", Sealed: []byte("y"), UpdatedAt: t0},
	}
	for _, sec := range secrets {
		if err := s.PutSecret(ctx, sec); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.ResealSecret(ctx, store.ResealParams[liftoff.Secret]{Old: secrets[1], KeyID: "k2", Sealed: []byte("z"), At: at}); err != nil || !ok {
		t.Fatalf("ResealSecret = %v, %v", ok, err)
	}
	gotSecrets, err := s.ListSecrets(ctx, store.ListVariablesParams{ProjectID: p.ID, EnvironmentIDs: []int64{prod}})
	if err != nil || len(gotSecrets) != 1 || gotSecrets[0].KeyID != "k2" || string(gotSecrets[0].Sealed) != "z" || !gotSecrets[0].UpdatedAt.Equal(at) {
		t.Fatalf("ListSecrets(prod) = %+v, %v", gotSecrets, err)
	}
	if err := s.DeleteSecret(ctx, store.DeleteSecretParams{ProjectID: p.ID, Name: secrets[0].Name}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSecret(ctx, store.DeleteSecretParams{ProjectID: p.ID, Name: secrets[0].Name}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting a secret twice: %v, want ErrNotFound", err)
	}

	// Deleting the project deletes its variables and secrets, not others'.
	if _, err := s.DeleteProject(ctx, store.DeleteProjectParams{ID: p.ID, Message: "deleted", At: at}); err != nil {
		t.Fatal(err)
	}
	left, err := s.ListVariables(ctx, store.ListVariablesParams{})
	if err != nil || len(left) != 1 || left[0].ProjectID != other.ID {
		t.Fatalf("variables left after deleting the project: %+v, %v", left, err)
	}
	if left, err := s.ListSecrets(ctx, store.ListVariablesParams{}); err != nil || len(left) != 0 {
		t.Fatalf("secrets left after deleting the project: %+v, %v", left, err)
	}
}

func sameVariable(a, b liftoff.Variable) bool {
	return a.ProjectID == b.ProjectID && a.EnvironmentID == b.EnvironmentID && a.ServiceID == b.ServiceID && a.Name == b.Name &&
		a.Kind == b.Kind && a.Value == b.Value && a.KeyID == b.KeyID && slices.Equal(a.Sealed, b.Sealed) && a.UpdatedAt.Equal(b.UpdatedAt)
}
