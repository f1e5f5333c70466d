package api_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/store"
)

// conflictingTx is a store whose transactions always end in a conflict, as
// one that lost every retry to concurrent writers does.
type conflictingTx struct{ store.Store }

func (conflictingTx) Tx(context.Context, func(store.Queries) error) error {
	return fmt.Errorf("insert deployment: %w", store.ErrConflict)
}

// TestStoreConflictAnswers: a deployment that cannot be queued because the
// store kept conflicting answers an API call 409, which the caller can
// retry, and a hook call as Flightcontrol's hooks answer what they cannot
// explain: an internal error; the hook's call record says so without the
// cause, which is for the log.
func TestStoreConflictAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	secret, hookID := h.createHook("production")
	// A PENDING deployment: a call then joins or supersedes it in a
	// transaction, which the store below keeps failing.
	if _, err := h.c.StartDeployment(context.Background(), h.env["production"], false, "", ""); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	a := api.New(api.Deps{Deployments: deploymentsOn(h.store), Variables: variablesOn(t, h.store), APIKeys: apikey.NewService(h.store, cuid.New), Log: log,
		Hooks: newHooks(t, conflictingTx{h.store}, h.rec, testHooks(), log)})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)

	_, err := client.New(srv.URL, h.key).StartDeployment(context.Background(), h.env["production"], false, "", "")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusConflict || ce.Code != "CONFLICT" {
		t.Errorf("POST deployments with a conflicting store: %v, want 409 CONFLICT", err)
	}

	resp, err := http.Get(fmt.Sprintf("%s/api/deploy-hook/%d/%s", srv.URL, h.env["production"], secret))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("hook call with a conflicting store answered %d (Cache-Control %q), want an uncached 500",
			resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	h.rec.Flush(context.Background())
	calls, err := h.c.HookCalls(context.Background(), hookID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].Status != 500 || strings.Contains(calls[0].Outcome, "conflict") {
		t.Errorf("call records = %+v, want one 500 that does not show the cause", calls)
	}
}
