package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

var shownKey = regexp.MustCompile(`id="api-key" class="mono" readonly value="(lfk_[^"]+)"`)

// TestAPIKeys: an admin creates a key on the page, which shows it this
// once with a curl example that works; no later page shows it; the form's
// refusals are shown next to their fields; revoking asks first, then the
// key stops working.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dialect)
			ctx := t.Context()
			prod := h.env["production"]
			admin := h.signIn("admin@example.com")
			status, body, _ := admin.get("/api-keys")
			if status != 200 || !strings.Contains(body, "No API keys yet") {
				t.Fatalf("GET /api-keys: %d\n%s", status, body)
			}
			formsCarryToken(t, body, admin.csrf)

			// Refusals, next to their fields.
			for _, c := range []struct {
				form  url.Values
				field string
				want  string
			}{
				{url.Values{"name": {""}, "scope": {"read"}}, "key-name", "name"},
				{url.Values{"name": {"ci"}, "scope": {"owner"}}, "key-scope", "scope must be admin, deploy or read"},
				{url.Values{"name": {"ci"}, "scope": {"deploy"}}, "key-envs", "a deploy key must name the environments"},
				{url.Values{"name": {"ci"}, "scope": {"deploy"}, "environmentIds": {"99999"}}, "key-envs", "environment 99999 does not exist"},
				{url.Values{"name": {"ci"}, "scope": {"deploy"}, "environmentIds": {"prod"}}, "key-envs", "environment ids are integers"},
			} {
				status, body, _ := admin.post("/api-keys", c.form)
				if status != http.StatusBadRequest || !strings.Contains(fieldError(body, c.field), c.want) {
					t.Errorf("POST /api-keys %v: %d, error at %s %q, want %q", c.form, status, c.field, fieldError(body, c.field), c.want)
				}
				if shownKey.MatchString(body) {
					t.Errorf("a refused form shows a key")
				}
			}
			if keys, err := h.apiKeys.List(ctx); err != nil || len(keys) != 0 {
				t.Fatalf("keys after refusals: %v, %v", keys, err)
			}

			// A deploy key of production, and a read key.
			status, body, _ = admin.post("/api-keys", url.Values{"name": {"CI deploy"}, "scope": {"deploy"}, "environmentIds": {fmt.Sprint(prod)}})
			m := shownKey.FindStringSubmatch(body)
			if status != http.StatusCreated || m == nil {
				t.Fatalf("create a deploy key: %d\n%s", status, body)
			}
			deployKey := m[1]
			keys, err := h.apiKeys.List(ctx)
			if err != nil || len(keys) != 1 || keys[0].Name != "CI deploy" || keys[0].Scope != "deploy" || !slices.Equal(keys[0].EnvironmentIDs, []int64{prod}) {
				t.Fatalf("stored keys: %+v, %v", keys, err)
			}
			status, body, _ = admin.post("/api-keys", url.Values{"name": {"reader"}, "scope": {"read"}, "environmentIds": {fmt.Sprint(prod)}})
			m = shownKey.FindStringSubmatch(body)
			if status != http.StatusCreated || m == nil {
				t.Fatalf("create a read key: %d\n%s", status, body)
			}
			readKey := m[1]
			curl := `curl -H &#34;Authorization: Bearer ` + readKey + `&#34; ` + h.srv.URL + `/v1/projects`
			if !strings.Contains(body, curl) {
				t.Errorf("the answer has no curl example %s:\n%s", curl, body)
			}
			if got := apiStatus(t, h, readKey, "/v1/projects"); got != http.StatusOK {
				t.Errorf("the curl example answers %d", got)
			}

			// The list names the keys and their environments, never a secret.
			for _, b := range []*browser{admin, h.signIn("read@example.com")} {
				_, body, _ = b.get("/api-keys")
				for _, want := range []string{"CI deploy", "reader", `href="/environments/` + fmt.Sprint(prod) + `"`, "shop / Production"} {
					if !strings.Contains(body, want) {
						t.Errorf("the list has no %q", want)
					}
				}
				for _, secret := range []string{deployKey, readKey, deployKey[4:16], readKey[4:16]} {
					if strings.Contains(body, secret) {
						t.Errorf("a later page shows a key")
					}
				}
			}

			// Revoking asks first.
			id := keyID(t, h, "CI deploy")
			status, body, _ = admin.post("/api-keys/"+id+"/delete", nil)
			if status != 200 || !strings.Contains(body, "Revoke API key CI deploy?") || !strings.Contains(body, `name="confirm" value="yes"`) {
				t.Fatalf("revoke without confirm: %d\n%s", status, body)
			}
			formsCarryToken(t, body, admin.csrf)
			if got := apiStatus(t, h, deployKey, "/v1/environments/"+fmt.Sprint(prod)); got != http.StatusOK {
				t.Fatalf("the deploy key before it is revoked: %d", got)
			}
			status, _, hdr := admin.post("/api-keys/"+id+"/delete", url.Values{"confirm": {"yes"}})
			if status != http.StatusSeeOther || hdr.Get("Location") != "/api-keys" {
				t.Fatalf("revoke: %d to %s", status, hdr.Get("Location"))
			}
			if got := apiStatus(t, h, deployKey, "/v1/environments/"+fmt.Sprint(prod)); got != http.StatusUnauthorized {
				t.Errorf("a revoked key: %d, want 401", got)
			}
			_, body, _ = admin.get("/api-keys")
			if strings.Contains(body, `data-api-key="CI deploy"`) || !strings.Contains(body, "Revoked API key CI deploy") {
				t.Errorf("after revoking:\n%s", body)
			}
			if status, _, _ := admin.post("/api-keys/"+id+"/delete", url.Values{"confirm": {"yes"}}); status != http.StatusNotFound {
				t.Errorf("revoking twice: %d", status)
			}
		})
	}
}

// apiStatus calls the API with a key.
func apiStatus(t *testing.T, h *harness, key, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// keyID is the id of the key named name.
func keyID(t *testing.T, h *harness, name string) string {
	t.Helper()
	keys, err := h.apiKeys.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no key %s", name)
	return ""
}
