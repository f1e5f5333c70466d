package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
)

// A project refused for its config shows the warnings too, as liftoff
// config validate does: the misspelled "prot" is why "port" is missing.
func TestCreateProjectRefusalCarriesWarnings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "sqlite", testHooks())
	repo := gittest.New(t)
	repo.Commit("init", map[string]string{"liftoff.json": `{"environments": [{"id": "production", "name": "Production",
		"source": {"branch": "main"}, "services": [
		{"id": "api", "name": "API", "type": "web", "startCommand": "./api", "prot": 8080, "port": 70000}]}]}`})
	_, err := h.c.CreateProject(t.Context(), "typo", repo.Dir, "")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("create: %v", err)
	}
	for _, want := range []string{"/environments/0/services/0/port", `warning: /environments/0/services/0/prot: unknown field, ignored (did you mean "port"?)`} {
		if !strings.Contains(ae.Msg, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, ae.Msg)
		}
	}
	// Accepted, the project carries its warnings.
	repo.Commit("fix", map[string]string{"liftoff.json": `{"environments": [{"id": "production", "name": "Production",
		"source": {"branch": "main"}, "services": [{"id": "api", "name": "API", "type": "web", "startCommand": "./api", "prot": 8080}]}]}`})
	p, err := h.c.CreateProject(t.Context(), "typo", repo.Dir, "")
	if err != nil || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], `did you mean "port"?`) {
		t.Errorf("create: %v, warnings %q", err, p.Warnings)
	}
}
