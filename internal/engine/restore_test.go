package engine

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// restoringTarget is a fakeTarget that a restarted engine restores
// releases to: it records what Restore was given.
type restoringTarget struct {
	*fakeTarget
	mu       sync.Mutex
	restored []target.Release
}

func (r *restoringTarget) Cleanup(context.Context) error { return nil }

func (r *restoringTarget) Restore(_ context.Context, rels []target.Release) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restored = append(r.restored, rels...)
	return nil
}

// TestRestoreResolvesEachServiceAlone: after a restart of Liftoff, a
// release is restored with its own variables resolved as they are now;
// a variable of another service that no longer resolves (its secret was
// deleted) fails that service only, naming it, and this one is restored.
func TestRestoreResolvesEachServiceAlone(t *testing.T) {
	t.Parallel()
	h := newEngineHarness(t, variablesConfig, nil, newFakeTarget())
	ctx := context.Background()
	if _, err := h.vars.Set(ctx, variables.Scope{ProjectID: h.p.ID, EnvironmentID: h.env.ID},
		variables.Groups{SecretsManager: map[string]string{"TOKEN": tokenValue}}); err != nil {
		t.Fatal(err)
	}
	if err := h.vars.SetSecret(ctx, h.p.ID, 0, "/prod/db", dbValue); err != nil {
		t.Fatal(err)
	}
	if d := h.deploy(liftoff.Deployment{}); d.Status != liftoff.StatusSuccess {
		t.Fatalf("deployment ended %s: %+v", d.Status, d.Errors)
	}
	// web's DB_URL reads /prod/db: gone, it no longer resolves.
	if err := h.vars.DeleteSecret(ctx, h.p.ID, 0, "/prod/db"); err != nil {
		t.Fatal(err)
	}

	// A restarted Liftoff: another engine on the same store and data.
	tg := &restoringTarget{fakeTarget: newFakeTarget()}
	restarted, err := New(Deps{Store: h.st, Git: h.e.Git, Logs: h.e.Logs, Local: tg, Command: tg, Log: h.e.Log, NewID: cuid.New,
		Variables: h.vars}, Config{DataDir: h.e.cfg.DataDir, NodeID: "node-a", Workers: 1, StopTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = restarted.restore(ctx)
	if err == nil || !strings.Contains(err.Error(), "service web:") || !strings.Contains(err.Error(), "/prod/db") {
		t.Errorf("restore = %v, want web's unresolved variable named", err)
	}
	if err != nil && strings.Contains(err.Error(), "service jobs") {
		t.Errorf("restore failed jobs too: %v", err)
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.restored) != 1 || tg.restored[0].Service.ID != "jobs" {
		t.Fatalf("restored %d releases (%v), want jobs alone", len(tg.restored), releaseIDs(tg.restored))
	}
	if env := tg.restored[0].Env; !slices.Contains(env, "TOKEN="+tokenValue) {
		t.Errorf("jobs was restored without its variables: %v", env)
	}
}

func releaseIDs(rels []target.Release) []string {
	var ids []string
	for _, r := range rels {
		ids = append(ids, r.Service.ID)
	}
	return ids
}
