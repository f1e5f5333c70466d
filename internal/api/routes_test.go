package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/api"
)

// TestRouteTableScopes walks the route table and the OpenAPI document
// together: every route declares the scope it needs, the document says the
// same scope for it, documents 403 exactly where a key can be refused and
// 404 where a deploy key is told a resource does not exist, and no route is
// registered around the table. A route added later without a declared scope
// fails here (and the server refuses to start with it: route.check).
func TestRouteTableScopes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	ops := operations(doc)
	table := api.RouteTable()
	if len(table) < 20 {
		t.Fatalf("the route table has only %d routes", len(table))
	}
	inTable := map[string]bool{}
	for _, rt := range table {
		inTable[rt.Pattern] = true
		op := ops[rt.Pattern]
		if op == nil {
			t.Errorf("%s is not documented in openapi.json", rt.Pattern)
			continue
		}
		scope, _ := op.Extensions["x-liftoff-scope"].(string)
		if rt.Need == "public" {
			if scope != "" || len(security(doc, op)) != 0 {
				t.Errorf("%s is public, but the document gives it scope %q and security %v", rt.Pattern, scope, security(doc, op))
			}
			continue
		}
		if !requires(security(doc, op), "apiKey") {
			t.Errorf("%s takes an API key but the document does not say so", rt.Pattern)
		}
		if scope != rt.Need {
			t.Errorf("%s needs scope %s, but its x-liftoff-scope is %q", rt.Pattern, rt.Need, scope)
		}
		if !strings.Contains(op.Description, "Scope: ") {
			t.Errorf("%s: its description does not say which keys may call it (\"Scope: ...\")", rt.Pattern)
		}
		// Some key gets 403 unless every scope may call the route: a read
		// route about one environment lets deploy keys in (or answers 404).
		refusable := !(rt.Need == "read" && rt.Env != "")
		if documented := op.Responses.Status(http.StatusForbidden) != nil; documented != refusable {
			t.Errorf("%s: 403 documented = %v, but a key can be refused = %v", rt.Pattern, documented, refusable)
		}
		if rt.Env != "" && op.Responses.Status(http.StatusNotFound) == nil {
			t.Errorf("%s: a deploy key gets 404 for another environment, which the document does not list", rt.Pattern)
		}
	}
	for key := range ops {
		_, path, _ := strings.Cut(key, " ")
		if strings.HasPrefix(path, "/v1/") && !inTable[key] {
			t.Errorf("openapi.json documents %s, which the route table does not declare", key)
		}
	}

	// Nothing in the package registers a route around the table: besides
	// the loop over it, only the fallbacks that refuse what it lacks (405
	// for its paths, 404 for any other).
	allowed := []string{"a.guard(rt)", "methodNotAllowed(p.methods)", "noEndpoint)"}
	register := regexp.MustCompile(`\.HandleFunc\(|\.Handle\("|mux\.Handle\(`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range register.FindAllIndex(src, -1) {
			n++
			line, _, _ := strings.Cut(string(src[m[0]:]), "\n")
			if f != "api.go" || !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(line, a) }) {
				t.Errorf("%s registers a route outside the route table: %s", f, line)
			}
		}
	}
	if n != len(allowed) {
		t.Errorf("found %d route registrations in package api, want %d: the loop over the route table and its fallbacks", n, len(allowed))
	}
}
