package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// TestFallbacksAnswerAsTheMux: a request the route table has no route for
// gets, in JSON, the status and Allow header a mux holding only the table
// would answer in plain text: 405 with the methods of every route whose
// path matches, 404 when none does. A route added later whose path
// overlaps another's fails here rather than answer a wrong Allow.
func TestFallbacksAnswerAsTheMux(t *testing.T) {
	t.Parallel()
	a := New(Deps{Deployments: &deployment.Service{}, Variables: &variables.Service{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	// The mux alone, as the oracle.
	plain := http.NewServeMux()
	for _, rt := range a.table() {
		plain.HandleFunc(rt.pattern, func(http.ResponseWriter, *http.Request) {})
	}
	wild := regexp.MustCompile(`\{[^}]+\}`)
	paths := []string{"/", "/v1", "/v1/", "/api", "/api/github", "/unknown", "/V1/projects", "/schema", "/favicon.ico",
		"/v1/environments/1/previews/", "/v1/deployments/x/logs/x"}
	for _, rt := range a.table() {
		_, p, _ := strings.Cut(rt.pattern, " ")
		c := wild.ReplaceAllString(p, "x1")
		parent := c[:strings.LastIndex(c, "/")]
		paths = append(paths, c, c+"/", c+"/more", parent, parent+"/", strings.ToUpper(c))
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "FOO"}
	for _, path := range paths {
		for _, method := range methods {
			r := httptest.NewRequest(method, path, nil)
			if _, pattern := plain.Handler(r); pattern != "" {
				continue // routed: the route answers
			}
			t.Run(method+" "+path, func(t *testing.T) {
				want := httptest.NewRecorder()
				plain.ServeHTTP(want, r)
				got := httptest.NewRecorder()
				a.ServeHTTP(got, httptest.NewRequest(method, path, nil))
				if got.Code != want.Code || got.Header().Get("Allow") != want.Header().Get("Allow") {
					t.Fatalf("answered %d, Allow %q; the mux answers %d, Allow %q", got.Code, got.Header().Get("Allow"),
						want.Code, want.Header().Get("Allow"))
				}
				var body struct{ Error, ErrorCode string }
				if err := json.Unmarshal(got.Body.Bytes(), &body); err != nil {
					t.Fatalf("the answer is not JSON: %q", got.Body)
				}
				wantBody := "No such endpoint; the API's paths are listed in /v1/openapi.json"
				if want.Code == http.StatusMethodNotAllowed {
					wantBody = "Method " + methodOf(r) + " is not allowed here; use " + want.Header().Get("Allow")
				}
				if body.Error != wantBody {
					t.Errorf("error = %q, want %q", body.Error, wantBody)
				}
			})
		}
	}
}
