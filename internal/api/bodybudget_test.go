package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/variables"
)

func TestReadBudgeted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name          string
		size, limit   int
		budget        int64
		wantErr       error
		wantLen       int
		wantMostTaken int64
	}{
		{"empty", 0, 100, 1 << 20, nil, 0, 4 << 10},
		{"small", 1000, 1 << 20, 1 << 20, nil, 1000, 4 << 10},
		{"at the limit", 100 << 10, 100 << 10, 1 << 20, nil, 100 << 10, 100<<10 + 1},
		{"past the limit stops at limit+1", 300 << 10, 100 << 10, 1 << 20, nil, 100<<10 + 1, 100<<10 + 1},
		{"over the budget", 300 << 10, 1 << 20, 200 << 10, errOverBudget, 0, 200 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := &byteBudget{limit: c.budget}
			body, release, err := readBudgeted(bytes.NewReader(bytes.Repeat([]byte("x"), c.size)), int64(c.limit), b)
			if !errors.Is(err, c.wantErr) || len(body) != c.wantLen {
				t.Fatalf("read %d bytes, %v; want %d, %v", len(body), err, c.wantLen, c.wantErr)
			}
			if held := b.held.Load(); held > c.wantMostTaken || held < int64(len(body)) {
				t.Errorf("%d bytes held for a body of %d; want between them and %d", held, len(body), c.wantMostTaken)
			}
			release()
			if held := b.held.Load(); held != 0 {
				t.Errorf("%d bytes still held after release", held)
			}
		})
	}
}

// TestByteBudgetConcurrent: many readers at once never hold more than the
// limit together, and give all of it back.
func TestByteBudgetConcurrent(t *testing.T) {
	t.Parallel()
	b := &byteBudget{limit: 1 << 20}
	var wg sync.WaitGroup
	var over sync.Once
	for range 64 {
		wg.Go(func() {
			for range 50 {
				body, release, err := readBudgeted(bytes.NewReader(make([]byte, 100<<10)), 1<<20, b)
				if held := b.held.Load(); held > b.limit {
					over.Do(func() { t.Errorf("%d bytes held, past the limit of %d", held, b.limit) })
				}
				if err == nil && len(body) != 100<<10 {
					t.Errorf("read %d bytes", len(body))
				}
				release()
			}
		})
	}
	wg.Wait()
	if held := b.held.Load(); held != 0 {
		t.Fatalf("%d bytes still held", held)
	}
}

// TestWebhookBodiesAreBounded: a payload larger than what webhook bodies
// may hold at once is refused with a 503 before it is all read, the budget
// comes back, and a delivery after it is read as usual (here, refused for
// its signature, which is checked after the body is read).
func TestWebhookBodiesAreBounded(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	a := New(Deps{Deployments: &deployment.Service{}, Variables: &variables.Service{}, GitHubSecret: []byte("s3cret"), Webhooks: &dispatch.Dispatcher{Deployments: &deployment.Service{}}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	a.webhookBodies = &byteBudget{limit: 1 << 20}
	send := func(body io.Reader, header http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/api/github/webhook", body)
		r.Header = header
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w
	}
	big := send(io.MultiReader(strings.NewReader(`{"zen": "`), strings.NewReader(strings.Repeat("x", 2<<20)), strings.NewReader(`"}`)),
		http.Header{"X-Github-Event": {"ping"}})
	if big.Code != http.StatusServiceUnavailable || big.Header().Get("Retry-After") == "" ||
		!strings.Contains(big.Body.String(), "too many webhook payloads") {
		t.Fatalf("a payload past the budget: %d %v %s; want a 503 with Retry-After", big.Code, big.Header(), big.Body)
	}
	if held := a.webhookBodies.held.Load(); held != 0 {
		t.Fatalf("%d bytes still held after the call", held)
	}
	body := `{"zen": "hi", "hook_id": 1}`
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	signed := send(strings.NewReader(body), http.Header{"X-Github-Event": {"ping"}, "X-Github-Delivery": {"d1"},
		"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}})
	if signed.Code != http.StatusOK {
		t.Fatalf("a signed ping after it: %d %s; want 200", signed.Code, signed.Body)
	}
	// A refused call's headers are logged bounded and redacted.
	secret := "lfh_" + strings.Repeat("A1", 22)
	unsigned := send(strings.NewReader(body), http.Header{"X-Github-Event": {"push " + secret},
		"X-Github-Delivery": {strings.Repeat("d", 10000)}})
	if unsigned.Code != http.StatusUnauthorized {
		t.Fatalf("an unsigned call: %d %s; want 401", unsigned.Code, unsigned.Body)
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), strings.Repeat("d", 100)) {
		t.Fatalf("the refusal was logged with the caller's headers as sent:\n%.400s", logs.String())
	}
}
