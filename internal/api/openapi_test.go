package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5"
	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/api"
	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/deployment"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/gitsource"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/hook"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/protect"
	rt "github.com/liftoffhq/liftoff/internal/resources/resourcestest"
	"github.com/liftoffhq/liftoff/internal/server"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
	"github.com/liftoffhq/liftoff/internal/token"
)

// The operations of the deploy hook paths, which deployHook serves outside
// the route table.
const (
	opHookGet     = "GET /api/deploy-hook/{envId}/{secret}"
	opHookPost    = "POST /api/deploy-hook/{envId}/{secret}"
	opPreviewGet  = "GET /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}"
	opPreviewPost = "POST /api/deploy-hook/{previewEnvId}/{secret}/{prNumber}/{commitSHA}"
)

// loadOpenAPI loads the embedded document and validates it.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// operations lists the documented operations as "METHOD /path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}

// security returns the security requirements that apply to an operation.
func security(doc *openapi3.T, op *openapi3.Operation) openapi3.SecurityRequirements {
	if op.Security != nil {
		return *op.Security
	}
	return doc.Security
}

func requires(reqs openapi3.SecurityRequirements, scheme string) bool {
	for _, r := range reqs {
		if _, ok := r[scheme]; ok {
			return true
		}
	}
	return false
}

// hookReadable are the operations that take a hook secret as well as an API
// key (readableDeployment).
var hookReadable = map[string]bool{
	"GET /v1/deployments/{deploymentId}":      true,
	"GET /v1/deployments/{deploymentId}/logs": true,
}

// TestOpenAPIDocument checks the document is valid and complete: every
// operation is named, described and secured as the handlers secure it.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	for _, name := range []string{"apiKey", "hookSecret"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("security scheme %s is missing", name)
		}
	}
	ids := map[string]string{}
	for key, op := range operations(doc) {
		if op.OperationID == "" || op.Summary == "" || op.Description == "" || len(op.Tags) == 0 {
			t.Errorf("%s needs an operationId, a summary, a description and a tag", key)
		}
		if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %s", key, other, op.OperationID)
		}
		ids[op.OperationID] = key
		_, path, _ := strings.Cut(key, " ")
		reqs := security(doc, op)
		public := !strings.HasPrefix(path, "/v1/") || path == "/v1/openapi.json"
		switch {
		case public && len(reqs) != 0:
			t.Errorf("%s needs no credentials but the document asks for %v", key, reqs)
		case !public && !requires(reqs, "apiKey"):
			t.Errorf("%s takes an API key but the document does not say so", key)
		case !public && op.Responses.Status(http.StatusUnauthorized) == nil:
			t.Errorf("%s takes an API key but does not document 401", key)
		}
		if got := requires(reqs, "hookSecret"); got != hookReadable[key] {
			t.Errorf("%s: hookSecret security = %v; only Get Deployment and its logs accept a hook secret", key, got)
		}
		for status, resp := range op.Responses.Map() {
			if resp.Value == nil || resp.Value.Description == nil || *resp.Value.Description == "" {
				t.Errorf("%s %s has no description", key, status)
			}
			if status == "default" {
				t.Errorf("%s documents a default response: list every status", key)
			}
		}
	}
}

// routePattern matches registrations on a mux: m.HandleFunc("GET /healthz", ...).
var routePattern = regexp.MustCompile(`\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)

// servedRoutes lists the routes the code serves, as "METHOD /path": the
// API's route table, the server's own mux in server.go, and the deploy hook
// paths.
func servedRoutes(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rt := range api.RouteTable() {
		if strings.Contains(rt.Pattern, "...}") || strings.Contains(rt.Pattern, "{$}") {
			t.Fatalf("api.go: cannot translate the mux pattern %q to an OpenAPI path", rt.Pattern)
		}
		out[rt.Pattern] = "api.go"
	}
	src, err := os.ReadFile(filepath.Join("..", "server", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		out[m[1]+" "+m[2]] = "server.go"
	}
	for _, op := range []string{opHookGet, opHookPost, opPreviewGet, opPreviewPost} {
		_, path, _ := strings.Cut(op, " ")
		if !strings.HasPrefix(path, api.HookPathPrefix) {
			t.Fatalf("%s is not under %s", op, api.HookPathPrefix)
		}
		out[op] = "deployhook.go"
	}
	return out
}

// TestOpenAPIRoutes checks that every route of the code is documented and
// that every documented operation is served.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	served := servedRoutes(t)
	n := 0
	for route, file := range served {
		if file == "api.go" {
			n++
		}
		if _, ok := operations(doc)[route]; !ok {
			t.Errorf("%s (%s) is not documented in openapi.json", route, file)
		}
	}
	if n < 15 {
		t.Fatalf("found only %d routes in api.go: did the route table change shape? Update routePattern", n)
	}
	if served["GET /healthz"] == "" {
		t.Errorf("GET /healthz is no longer registered in server.go")
	}
	for route := range operations(doc) {
		if served[route] == "" {
			t.Errorf("openapi.json documents %s, which no handler serves", route)
		}
	}
}

// mergedSchema returns the properties and required names of a schema,
// following allOf.
func mergedSchema(s *openapi3.Schema) (openapi3.Schemas, map[string]bool) {
	props, required := openapi3.Schemas{}, map[string]bool{}
	for _, sub := range s.AllOf {
		p, r := mergedSchema(sub.Value)
		for k, v := range p {
			props[k] = v
		}
		for k := range r {
			required[k] = true
		}
	}
	for k, v := range s.Properties {
		props[k] = v
	}
	for _, k := range s.Required {
		required[k] = true
	}
	return props, required
}

type jsonField struct {
	name      string
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists the JSON fields of a struct, flattening embedded structs.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

// TestOpenAPIWireTypes compares the schemas with the wire types the server
// renders (package client): the same field names, required exactly when the
// field is always present, nullable exactly when it can be null.
func TestOpenAPIWireTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	for _, c := range []struct {
		typ    reflect.Type
		schema string
	}{
		{reflect.TypeFor[client.EnvironmentSummary](), "EnvironmentSummary"},
		{reflect.TypeFor[client.Project](), "Project"},
		{reflect.TypeFor[client.Service](), "Service"},
		{reflect.TypeFor[client.ServiceInstanceState](), "ServiceInstanceState"},
		{reflect.TypeFor[client.ServiceInstance](), "ServiceInstance"},
		{reflect.TypeFor[client.ServicePod](), "ServicePod"},
		{reflect.TypeFor[client.Environment](), "Environment"},
		{reflect.TypeFor[client.PreviewInstance](), "PreviewInstance"},
		{reflect.TypeFor[client.CreatedHook](), "CreatedDeployHook"},
		{reflect.TypeFor[client.RotatedHook](), "RotatedDeployHook"},
		{reflect.TypeFor[client.Hook](), "DeployHook"},
		{reflect.TypeFor[client.HookCall](), "DeployHookCall"},
		{reflect.TypeFor[client.APIKey](), "APIKey"},
		{reflect.TypeFor[client.Trigger](), "Trigger"},
		{reflect.TypeFor[client.ServiceRef](), "ServiceRef"},
		{reflect.TypeFor[client.ServiceDeployment](), "ServiceDeployment"},
		{reflect.TypeFor[client.Deployment](), "Deployment"},
		{reflect.TypeFor[client.DeploymentList](), "DeploymentList"},
		{reflect.TypeFor[client.ErrorBody](), "Error"},
		{reflect.TypeFor[client.Protection](), "Protection"},
		{reflect.TypeFor[client.ProtectionChange](), "ProtectionChange"},
		{reflect.TypeFor[client.NewShareLink](), "NewShareLink"},
		{reflect.TypeFor[client.ShareLink](), "ShareLink"},
		{reflect.TypeFor[dispatch.Result](), "GitHubWebhookResult"},
		{reflect.TypeFor[dispatch.Queued](), "GitHubQueuedDeployment"},
		{reflect.TypeFor[dispatch.Preview](), "GitHubPreview"},
	} {
		t.Run(c.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[c.schema]
			if ref == nil {
				t.Fatalf("components.schemas.%s is missing", c.schema)
			}
			props, required := mergedSchema(ref.Value)
			fields := map[string]bool{}
			for _, f := range jsonFields(c.typ) {
				fields[f.name] = true
				p := props[f.name]
				if p == nil {
					t.Errorf("%s.%s (json %q) is not documented", c.typ, f.name, f.name)
					continue
				}
				if required[f.name] == f.omitempty {
					t.Errorf("%s: required = %v, but omitempty = %v", f.name, required[f.name], f.omitempty)
				}
				typ, nullable := f.typ, false
				if typ.Kind() == reflect.Pointer {
					// A nil pointer renders null, unless omitempty omits it.
					typ, nullable = typ.Elem(), !f.omitempty
				}
				if typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Map {
					nullable = true // a nil error list renders null
				}
				if p.Value.Nullable != nullable {
					t.Errorf("%s: nullable = %v, want %v (Go type %s)", f.name, p.Value.Nullable, nullable, f.typ)
				}
				want := map[reflect.Kind]string{reflect.String: "string", reflect.Int: "integer", reflect.Int64: "integer",
					reflect.Bool: "boolean", reflect.Slice: "array", reflect.Struct: "object", reflect.Map: "object"}[typ.Kind()]
				if !p.Value.Type.Is(want) {
					t.Errorf("%s: type %v, want %s (Go type %s)", f.name, p.Value.Type.Slice(), want, f.typ)
				}
			}
			for name := range props {
				if !fields[name] {
					t.Errorf("%s documents %q, which %s does not have", c.schema, name, c.typ)
				}
			}
		})
	}
	// HookAnswer is split in two schemas: success and refusal.
	t.Run("HookAnswer", func(t *testing.T) {
		documented := map[string]bool{}
		for _, name := range []string{"HookSuccess", "HookError"} {
			props, _ := mergedSchema(doc.Components.Schemas[name].Value)
			for k := range props {
				documented[k] = true
			}
		}
		for _, f := range jsonFields(reflect.TypeFor[client.HookAnswer]()) {
			if !documented[f.name] {
				t.Errorf("HookAnswer.%s is not documented", f.name)
			}
			delete(documented, f.name)
		}
		if len(documented) != 0 {
			t.Errorf("documented hook answer fields that HookAnswer lacks: %v", documented)
		}
	})
}

// exchange is one real request and the answer it must get.
type exchange struct {
	name string
	// op is the documented operation ("METHOD /template") the answer is
	// validated against; the request path must route to it.
	op string
	// response, instead of op, names a components.responses entry, for
	// answers to paths or methods that have no operation (unknown paths,
	// wrong methods).
	response string
	method   string // the method sent; default the op's
	path     string // sent as it is, query included
	header   http.Header
	body     string
	status   int
}

// oaChecker validates real answers against the document and records which
// documented (operation, status) pairs were exercised.
type oaChecker struct {
	doc     *openapi3.T
	router  routers.Router
	covered map[string]bool
}

func newOAChecker(t *testing.T) *oaChecker {
	t.Helper()
	doc := loadOpenAPI(t)
	// The servers list the default address; route on paths alone.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &oaChecker{doc: doc, router: router, covered: map[string]bool{}}
}

// run sends ex to the server at base and validates the answer: its status
// is ex.status, and its status, headers and body are what the document
// says, with no undocumented field. A request that succeeds must be valid by
// the document too.
func (c *oaChecker) run(t *testing.T, base string, hc *http.Client, ex exchange) []byte {
	t.Helper()
	ctx := context.Background()
	opMethod, opPath, _ := strings.Cut(ex.op, " ")
	method := ex.method
	if method == "" {
		method = opMethod
	}
	req, err := http.NewRequest(method, base+"/", strings.NewReader(ex.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ex.header {
		req.Header[k] = v
	}
	if ex.body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.URL.Opaque, req.URL.RawQuery, _ = strings.Cut(ex.path, "?")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != ex.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, ex.path, resp.StatusCode, ex.status, body)
	}

	u, err := url.Parse("http://liftoff.test" + ex.path)
	if err != nil {
		t.Fatal(err)
	}
	rr := &http.Request{Method: opMethod, URL: u, Host: u.Host, Header: req.Header.Clone(), Body: http.NoBody}
	if ex.body != "" {
		rr.Body = io.NopCloser(strings.NewReader(ex.body))
	}
	var route *routers.Route
	var params map[string]string
	if ex.response == "" {
		route, params, err = c.router.FindRoute(rr)
		if err != nil {
			t.Fatalf("%s %s does not route to a documented operation: %v", opMethod, ex.path, err)
		}
		if route.Path != opPath {
			t.Fatalf("%s routes to %s, want %s", ex.path, route.Path, opPath)
		}
	} else {
		ref := c.doc.Components.Responses[ex.response]
		if ref == nil {
			t.Fatalf("components.responses.%s is missing", ex.response)
		}
		op := openapi3.NewOperation()
		op.Responses = openapi3.NewResponses(openapi3.WithStatus(ex.status, ref))
		rr.Method = method
		route = &routers.Route{Spec: c.doc, Path: u.Path, Method: method, Operation: op}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.RequestValidationInput{Request: rr, PathParams: params, Route: route, Options: opts}
	if ex.response == "" && method == opMethod && ex.status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("the server accepted a request the document refuses: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("the answer drifted from openapi.json: %v\nheaders %v\nbody %s", err, resp.Header, body)
	}
	documented := route.Operation.Responses.Status(resp.StatusCode)
	if documented != nil {
		// Text answers (logs) were checked against their schema above; a
		// JSON one must also have no undocumented field.
		mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch mt := documented.Value.Content.Get("application/json"); {
		case len(documented.Value.Content) == 0 || mediaType == "application/json" && (mt == nil || mt.Schema == nil):
			if len(body) != 0 {
				t.Errorf("status %d documents no body, got %s", resp.StatusCode, body)
			}
		case mediaType == "application/json":
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("body is not JSON: %v: %s", err, body)
			}
			if extra := undocumented(mt.Schema, v, "$"); len(extra) != 0 {
				t.Errorf("undocumented fields %v in %s", extra, body)
			}
		}
	}
	if ex.response == "" {
		c.covered[ex.op+" "+strconv.Itoa(resp.StatusCode)] = true
	}
	return body
}

// undocumented lists the fields of v its schema does not document. Object
// schemas without properties (the document itself) are open.
func undocumented(s *openapi3.SchemaRef, v any, at string) []string {
	if s == nil || s.Value == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		// oneOf: the variant whose required fields the object has.
		for _, variant := range s.Value.OneOf {
			_, required := mergedSchema(variant.Value)
			has := true
			for k := range required {
				if _, ok := v[k]; !ok {
					has = false
				}
			}
			if has {
				return undocumented(variant, v, at)
			}
		}
		props, _ := mergedSchema(s.Value)
		extra := s.Value.AdditionalProperties.Schema
		for k, x := range v {
			switch p := props[k]; {
			case p != nil:
				out = append(out, undocumented(p, x, at+"."+k)...)
			case extra != nil:
				out = append(out, undocumented(extra, x, at+"."+k)...)
			case len(props) != 0:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		for i, x := range v {
			out = append(out, undocumented(s.Value.Items, x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	sort.Strings(out)
	return out
}

// newTestAPI serves another API on st, for answers the harness cannot give:
// a server shutting down, a closed store, a strict failure limit.
func newTestAPI(t *testing.T, st store.Store, rec *hook.Recorder, cfg hook.Config, draining bool) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	git := gitsource.NewManager(filepath.Join(t.TempDir(), "mirrors"), log, tempDirPolicy(t))
	vars := variablesOn(t, st)
	a := api.New(api.Deps{Deployments: deploymentsOn(st), Variables: vars, Projects: project.NewService(st, git, vars.Keys, log, cuid.New), APIKeys: apikey.NewService(st, cuid.New),
		Log: log, Hooks: newHooks(t, st, rec, cfg, log), Draining: func() bool { return draining }, Protection: protect.NewService(st, vars.Keys)})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv
}

// kin-openapi decodes text/plain answers but not event streams: read those
// as text too, so that their schema is checked.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
}

// finishDeployment ends a deployment through the store as an engine would
// (none runs in the harness): it claims the oldest PENDING deployment that
// can start, gives it a commit, a config, a successful service deployment
// and output, and ends it with SUCCESS. It returns the deployment.
func (h *harness) finishDeployment() liftoff.Deployment {
	h.t.Helper()
	ctx := context.Background()
	now := time.Now()
	d, err := h.store.ClaimDeployment(ctx, store.ClaimParams{Owner: "test", At: now, LeaseUntil: now.Add(time.Hour)})
	if err != nil {
		h.t.Fatalf("claim a deployment: %v", err)
	}
	if err := h.store.UpdateRunningDeployment(ctx, store.UpdateRunningParams{ID: d.ID, GitCommit: h.repo.Head(), Config: testConfig}); err != nil {
		h.t.Fatal(err)
	}
	env, err := h.c.Environment(ctx, d.EnvironmentID)
	if err != nil || len(env.Services) == 0 {
		h.t.Fatalf("environment %d of deployment %s: %+v %v", d.EnvironmentID, d.ID, env, err)
	}
	svc := env.Services[0]
	sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: svc.ServiceID, ServiceGivenID: svc.ServiceGivenID,
		ServiceName: svc.ServiceName, ServiceType: svc.Type, Status: liftoff.StatusSuccess, Reason: "forced",
		StartedAt: now, FinishedAt: now, EnvironmentID: d.EnvironmentID, PRNumber: d.PRNumber,
		GitCommit: h.repo.Head(), CreatedAt: now}
	if err := h.store.InsertServiceDeployment(ctx, sd); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.AppendLogs(ctx, []liftoff.LogLine{
		{DeploymentID: d.ID, At: now, Text: "Deploying " + h.repo.Head()},
		{DeploymentID: d.ID, ServiceDeploymentID: sd.ID, At: now, Text: "built in 1s"},
	}); err != nil {
		h.t.Fatal(err)
	}
	if ok, err := h.store.FinishDeployment(ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusSuccess, At: now}); err != nil || !ok {
		h.t.Fatalf("finish deployment %s: %v %v", d.ID, ok, err)
	}
	d, err = h.store.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// fillPath puts placeholder values in a documented path.
var fillPath = strings.NewReplacer("{projectId}", "cnope", "{environmentId}", "99999", "{hookId}", "cnope",
	"{deploymentId}", "cnope", "{apiKeyId}", "cnope", "{prNumber}", "1")

// TestOpenAPIResponses sends real requests covering every operation and the
// statuses each can answer, and validates every answer against the
// document, on each store dialect.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			c := newOAChecker(t)
			h := newHarness(t, dialect, testHooks(func(c *hook.Config) { c.PerHookPerMinute, c.FailuresPerMinute = 10, 1000 }))
			ctx := context.Background()
			run := func(srv *httptest.Server, ex exchange) []byte {
				var body []byte
				t.Run(ex.name, func(t *testing.T) { body = c.run(t, srv.URL, srv.Client(), ex) })
				return body
			}
			do := func(ex exchange) []byte { return run(h.srv, ex) }
			bearer := http.Header{"Authorization": {"Bearer " + h.key}}
			withKey := func(ex exchange) exchange { ex.header = bearer; return ex }
			jsonBody := func(v any) string { b, _ := json.Marshal(v); return string(b) }

			p, pv, d := h.env["production"], h.env["preview"], h.env["data"]
			prod, prodID := h.createHook("production")
			preview, _ := h.createHook("preview")
			pausedProd, pausedProdID := h.createHook("production")
			pausedPreview, pausedPreviewID := h.createHook("preview")
			for _, id := range []string{pausedProdID, pausedPreviewID} {
				if _, err := h.c.SetHookPaused(ctx, id, true); err != nil {
					t.Fatal(err)
				}
			}
			data, _ := h.createHook("data")
			limited, _ := h.createHook("staging")
			sha := strings.Repeat("a", 40)
			head := h.repo.Head()
			hookPath := func(env int64, secret string) string { return fmt.Sprintf("/api/deploy-hook/%d/%s", env, secret) }
			previewPath := func(secret string, pr int, sha string) string {
				return fmt.Sprintf("/api/deploy-hook/%d/%s/%d/%s", pv, secret, pr, sha)
			}
			idOf := func(body []byte) string {
				var a client.HookAnswer
				_ = json.Unmarshal(body, &a)
				return a.DeploymentID
			}
			idem := func(k string) http.Header { return http.Header{"Idempotency-Key": {k}} }

			// Deploy hooks: successes.
			first := idOf(do(exchange{name: "hook GET queues", op: opHookGet, path: hookPath(p, prod), status: 200}))
			do(exchange{name: "hook POST with force joins", op: opHookPost, path: hookPath(p, prod) + "?force=TRUE",
				header: idem("build-1"), body: `{"ignored": true}`, status: 200})
			superseding := idOf(do(exchange{name: "hook GET with commit and branch", op: opHookGet,
				path: hookPath(p, prod) + "?commit=" + head + "&branch=main&force=0", status: 200}))
			previewID := idOf(do(exchange{name: "preview hook GET", op: opPreviewGet, path: previewPath(preview, 5, sha), status: 200}))
			do(exchange{name: "preview hook POST with force and Idempotency-Key", op: opPreviewPost,
				path: previewPath(preview, 6, strings.Repeat("b", 64)) + "?force=1", header: idem("pr-6"), status: 200})
			// 400
			do(exchange{name: "hook force=maybe", op: opHookGet, path: hookPath(p, prod) + "?force=maybe", status: 400})
			do(exchange{name: "hook clearCache without force", op: opHookGet, path: hookPath(p, prod) + "?clearCache=true", status: 400})
			do(exchange{name: "hook POST non-integer envId", op: opHookPost, path: "/api/deploy-hook/abc/" + prod, status: 400})
			do(exchange{name: "hook invalid branch", op: opHookGet, path: hookPath(p, prod) + "?branch=a..b", status: 400})
			do(exchange{name: "hook long Idempotency-Key", op: opHookGet, path: hookPath(p, prod),
				header: idem(strings.Repeat("k", 256)), status: 400})
			do(exchange{name: "hook normal form on a preview environment", op: opHookGet, path: hookPath(pv, preview), status: 400})
			do(exchange{name: "preview hook short SHA", op: opPreviewGet, path: previewPath(preview, 5, "abcdef"), status: 400})
			do(exchange{name: "preview hook POST zero prNumber", op: opPreviewPost, path: previewPath(preview, 0, sha), status: 400})
			do(exchange{name: "preview hook with commit", op: opPreviewGet, path: previewPath(preview, 5, sha) + "?commit=" + sha, status: 400})
			// 404
			do(exchange{name: "hook wrong secret", op: opHookGet, path: hookPath(p, "lfh_wrong"), status: 404})
			do(exchange{name: "hook POST unknown environment", op: opHookPost, path: hookPath(99999, prod), status: 404})
			do(exchange{name: "preview hook wrong secret", op: opPreviewGet, path: previewPath("lfh_wrong", 5, sha), status: 404})
			do(exchange{name: "preview hook POST another environment's secret", op: opPreviewPost, path: previewPath(prod, 5, sha), status: 404})
			do(exchange{name: "hook without secret", response: "HookNotFound", method: "GET", path: fmt.Sprintf("/api/deploy-hook/%d", p), status: 404})
			do(exchange{name: "hook with too many parts", response: "HookNotFound", method: "POST", path: previewPath(preview, 5, sha) + "/x", status: 404})
			// 405
			do(exchange{name: "hook PUT", op: opHookGet, method: "PUT", path: hookPath(p, prod), status: 405})
			do(exchange{name: "hook DELETE", op: opHookPost, method: "DELETE", path: hookPath(p, prod), status: 405})
			do(exchange{name: "preview hook PATCH", op: opPreviewGet, method: "PATCH", path: previewPath(preview, 5, sha), status: 405})
			do(exchange{name: "preview hook DELETE", op: opPreviewPost, method: "DELETE", path: previewPath(preview, 5, sha), status: 405})
			// 409
			do(exchange{name: "hook paused", op: opHookGet, path: hookPath(p, pausedProd), status: 409})
			do(exchange{name: "hook POST environment without services", op: opHookPost, path: hookPath(d, data), status: 409})
			do(exchange{name: "preview hook paused", op: opPreviewGet, path: previewPath(pausedPreview, 7, sha), status: 409})
			do(exchange{name: "preview hook POST paused", op: opPreviewPost, path: previewPath(pausedPreview, 7, sha), status: 409})
			// 429: the per-hook limit is 10 calls a minute.
			for range 10 {
				if status, _, body := h.call("GET", hookPath(h.env["staging"], limited), nil); status != 200 {
					t.Fatalf("warming up the rate limit: %d %s", status, body)
				}
			}
			do(exchange{name: "hook over its rate limit", op: opHookGet, path: hookPath(h.env["staging"], limited), status: 429})
			// 429: an address over its failed-call limit is refused every
			// call without a valid secret (valid ones still go through).
			strict := newTestAPI(t, h.store, h.rec, testHooks(func(c *hook.Config) { c.FailuresPerMinute = 1 }), false)
			wrong := token.New(token.HookPrefix)
			run(strict, exchange{name: "hook failure before the limit", op: opHookGet, path: hookPath(p, "lfh_wrong"), status: 404})
			run(strict, exchange{name: "hook address over its failure limit", op: opHookGet, path: hookPath(p, wrong), status: 429})
			run(strict, exchange{name: "hook POST address over its failure limit", op: opHookPost, path: hookPath(p, wrong), status: 429})
			run(strict, exchange{name: "preview hook address over its failure limit", op: opPreviewGet, path: previewPath(wrong, 5, sha), status: 429})
			run(strict, exchange{name: "preview hook POST address over its failure limit", op: opPreviewPost, path: previewPath(wrong, 5, sha), status: 429})
			// 503: shutting down, or the store is unavailable.
			draining := newTestAPI(t, h.store, h.rec, testHooks(), true)
			run(draining, exchange{name: "hook while shutting down", op: opHookGet, path: hookPath(p, prod), status: 503})
			run(draining, exchange{name: "hook POST while shutting down", op: opHookPost, path: hookPath(p, prod), status: 503})
			run(draining, exchange{name: "preview hook while shutting down", op: opPreviewGet, path: previewPath(preview, 5, sha), status: 503})
			run(draining, exchange{name: "preview hook POST while shutting down", op: opPreviewPost, path: previewPath(preview, 5, sha), status: 503})
			// A server that answers "success" as a boolean.
			boolean := serveAPI(t, h, h.store, api.HookSuccessBoolean, false)
			run(boolean, exchange{name: "hook answering a boolean", op: opHookGet, path: hookPath(p, prod), status: 200})
			run(boolean, exchange{name: "hook refusal answering a boolean", op: opHookPost, path: hookPath(p, "lfh_wrong"), status: 404})
			closedStore := storetest.Open(t, dialect)
			if err := closedStore.Close(); err != nil {
				t.Fatal(err)
			}
			closed := newTestAPI(t, closedStore, h.rec, testHooks(), false)
			run(closed, exchange{name: "hook with the store down", op: opHookGet, path: hookPath(p, prod), status: 503})
			run(closed, exchange{name: "preview hook POST with the store down", op: opPreviewPost, path: previewPath(preview, 5, sha), status: 503})

			// Get Deployment, every way to authenticate.
			getDep := "GET /v1/deployments/{deploymentId}"
			do(exchange{name: "deployment with Bearer", op: getDep, path: "/v1/deployments/" + first, header: bearer, status: 200})
			do(exchange{name: "deployment with Bearer:", op: getDep, path: "/v1/deployments/" + superseding,
				header: http.Header{"Authorization": {"Bearer: " + h.key}}, status: 200})
			do(exchange{name: "deployment with a bare key", op: getDep, path: "/v1/deployments/" + previewID,
				header: http.Header{"Authorization": {h.key}}, status: 200})
			do(exchange{name: "deployment with its hook's secret", op: getDep, path: "/v1/deployments/" + first,
				header: http.Header{"Authorization": {"Hook " + prod}}, status: 200})
			do(exchange{name: "deployment with another hook's secret", op: getDep, path: "/v1/deployments/" + first,
				header: http.Header{"Authorization": {"Hook " + preview}}, status: 404})
			do(exchange{name: "deployment unknown", op: getDep, path: "/v1/deployments/cnope", header: bearer, status: 404})
			do(exchange{name: "deployment without a key", op: getDep, path: "/v1/deployments/" + first, status: 401})
			do(exchange{name: "deployment with an invalid key", op: getDep, path: "/v1/deployments/" + first,
				header: http.Header{"Authorization": {"Bearer lfk_nope"}}, status: 401})
			if dep, err := h.c.Deployment(ctx, first); err != nil || dep.Error == nil {
				t.Fatalf("the first deployment should have been superseded, with an error list: %+v %v", dep, err)
			}

			// List deployments.
			listDeps := "GET /v1/deployments"
			do(withKey(exchange{name: "deployments", op: listDeps, path: "/v1/deployments", status: 200}))
			page := do(withKey(exchange{name: "deployments first page", op: listDeps, path: "/v1/deployments?limit=1", status: 200}))
			var list client.DeploymentList
			if err := json.Unmarshal(page, &list); err != nil || list.NextCursor == nil {
				t.Fatalf("a full page has no nextCursor: %s", page)
			}
			do(withKey(exchange{name: "deployments next page", op: listDeps, path: "/v1/deployments?limit=1&cursor=" + url.QueryEscape(*list.NextCursor), status: 200}))
			do(withKey(exchange{name: "deployments by environment and status", op: listDeps,
				path: fmt.Sprintf("/v1/deployments?environmentId=%d&status=PENDING&limit=5", p), status: 200}))
			do(withKey(exchange{name: "deployments by PR", op: listDeps, path: fmt.Sprintf("/v1/deployments?environmentId=%d&prNumber=5", pv), status: 200}))
			do(withKey(exchange{name: "deployments by project", op: listDeps, path: "/v1/deployments?projectId=" + h.project.ProjectID, status: 200}))
			do(withKey(exchange{name: "deployments bad status", op: listDeps, path: "/v1/deployments?status=DONE", status: 400}))
			do(withKey(exchange{name: "deployments limit too high", op: listDeps, path: "/v1/deployments?limit=101", status: 400}))
			do(withKey(exchange{name: "deployments bad cursor", op: listDeps, path: "/v1/deployments?cursor=zzz", status: 400}))

			// Cancel, redeploy and logs. No engine runs here: deployments
			// stay PENDING unless the test moves them on through the store.
			cancelDep, redeployDep, depLogs := "POST /v1/deployments/{deploymentId}/cancel",
				"POST /v1/deployments/{deploymentId}/redeploy", "GET /v1/deployments/{deploymentId}/logs"
			depPath := func(id, action string) string { return "/v1/deployments/" + id + "/" + action }
			pendingDeployment := func() string {
				t.Helper()
				ds, err := h.store.ListDeployments(ctx, store.ListDeploymentsParams{Status: liftoff.StatusPending, Limit: 1})
				if err != nil || len(ds) == 0 {
					t.Fatalf("no PENDING deployment left: %v", err)
				}
				return ds[0].ID
			}
			finished := h.finishDeployment()
			svc := finished.Services[0].ServiceGivenID
			// The engine lists a service Liftoff does not run as NO_CHANGE.
			if err := h.store.InsertServiceDeployment(ctx, liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: finished.ID,
				ServiceGivenID: "db", ServiceName: "DB", ServiceType: "rds", Status: liftoff.StatusNoChange,
				Reason: "not deployed: type rds does not run on Liftoff", FinishedAt: time.Now(), EnvironmentID: finished.EnvironmentID,
				Position: 9, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			do(withKey(exchange{name: "deployment with a service Liftoff does not run", op: getDep, path: "/v1/deployments/" + finished.ID, status: 200}))
			do(withKey(exchange{name: "deployments with their service deployments", op: listDeps, path: "/v1/deployments?limit=100", status: 200}))
			do(withKey(exchange{name: "redeploy a PENDING deployment", op: redeployDep, path: depPath(pendingDeployment(), "redeploy"), status: 409}))
			do(withKey(exchange{name: "redeploy a deployment cancelled before it started", op: redeployDep, path: depPath(first, "redeploy"), status: 409}))
			do(withKey(exchange{name: "redeploy unknown", op: redeployDep, path: depPath("cnope", "redeploy"), status: 404}))
			var redeployed client.Deployment
			if err := json.Unmarshal(do(withKey(exchange{name: "redeploy", op: redeployDep, path: depPath(finished.ID, "redeploy"), status: 201})), &redeployed); err != nil ||
				redeployed.Status != "PENDING" || redeployed.Trigger.Type != "redeploy" || redeployed.DeploymentID == finished.ID || redeployed.EnvironmentID != finished.EnvironmentID {
				t.Errorf("a redeploy should queue a new PENDING deployment of the same environment: %+v %v", redeployed, err)
			}
			var cancelled client.Deployment
			pending := pendingDeployment()
			if err := json.Unmarshal(do(withKey(exchange{name: "cancel a PENDING deployment", op: cancelDep, path: depPath(pending, "cancel"), status: 200})), &cancelled); err != nil ||
				cancelled.Status != "CANCELLED" || cancelled.FinishedAt == nil {
				t.Errorf("a PENDING deployment should end CANCELLED at once: %+v %v", cancelled, err)
			}
			do(withKey(exchange{name: "cancel a cancelled deployment", op: cancelDep, path: depPath(pending, "cancel"), status: 409}))
			do(withKey(exchange{name: "cancel a finished deployment", op: cancelDep, path: depPath(finished.ID, "cancel"), status: 409}))
			do(withKey(exchange{name: "cancel unknown", op: cancelDep, path: depPath("cnope", "cancel"), status: 404}))
			now := time.Now()
			running, err := h.store.ClaimDeployment(ctx, store.ClaimParams{Owner: "test", At: now, LeaseUntil: now.Add(time.Hour)})
			if err != nil {
				t.Fatalf("claim a deployment: %v", err)
			}
			if err := json.Unmarshal(do(withKey(exchange{name: "cancel a running deployment", op: cancelDep, path: depPath(running.ID, "cancel"), status: 200})), &cancelled); err != nil ||
				cancelled.Status != string(liftoff.StatusInProgress) {
				t.Errorf("a running deployment keeps running until its node stops it: %+v %v", cancelled, err)
			}

			plain := do(withKey(exchange{name: "logs", op: depLogs, path: depPath(finished.ID, "logs"), status: 200}))
			if want := "[deploy] Deploying " + head + "\n[" + svc + "] built in 1s\n"; string(plain) != want {
				t.Errorf("logs = %q, want %q", plain, want)
			}
			plain = do(withKey(exchange{name: "logs of a service", op: depLogs, path: depPath(finished.ID, "logs") + "?service=" + svc + "&follow=false", status: 200}))
			if want := "[" + svc + "] built in 1s\n"; string(plain) != want {
				t.Errorf("logs of %s = %q, want %q", svc, plain, want)
			}
			do(withKey(exchange{name: "logs of a PENDING deployment", op: depLogs, path: depPath(pendingDeployment(), "logs") + "?follow=0", status: 200}))
			stream := do(withKey(exchange{name: "logs followed", op: depLogs, path: depPath(finished.ID, "logs") + "?follow=TRUE", status: 200}))
			if want := "id: 1\ndata: [deploy] Deploying " + head + "\n\nid: 2\ndata: [" + svc + "] built in 1s\n\nevent: end\ndata: SUCCESS\n\n"; string(stream) != want {
				t.Errorf("followed logs = %q, want %q", stream, want)
			}
			do(exchange{name: "logs with the hook's secret", op: depLogs, path: depPath(first, "logs"),
				header: http.Header{"Authorization": {"Hook " + prod}}, status: 200})
			stream = do(exchange{name: "logs followed with the hook's secret", op: depLogs, path: depPath(first, "logs") + "?follow=1",
				header: http.Header{"Authorization": {"Hook " + prod}}, status: 200})
			if want := "event: end\ndata: CANCELLED\n\n"; string(stream) != want {
				t.Errorf("followed logs of a cancelled deployment = %q, want %q", stream, want)
			}
			do(withKey(exchange{name: "logs follow=maybe", op: depLogs, path: depPath(finished.ID, "logs") + "?follow=maybe", status: 400}))
			do(withKey(exchange{name: "logs unknown", op: depLogs, path: depPath("cnope", "logs"), status: 404}))
			do(withKey(exchange{name: "logs of an unknown service", op: depLogs, path: depPath(finished.ID, "logs") + "?service=nope", status: 404}))
			do(exchange{name: "logs with another hook's secret", op: depLogs, path: depPath(first, "logs"),
				header: http.Header{"Authorization": {"Hook " + preview}}, status: 404})
			do(exchange{name: "logs without a key", op: depLogs, path: depPath(first, "logs"), status: 401})
			// One credential following 16 deployments at once is refused a 17th.
			streamer, err := h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "streamer", Scope: "read"})
			if err != nil {
				t.Fatal(err)
			}
			asStreamer := http.Header{"Authorization": {"Bearer " + streamer.Key}}
			streamsCtx, closeStreams := context.WithCancel(ctx)
			streamed := pendingDeployment()
			for range 16 {
				req, err := http.NewRequestWithContext(streamsCtx, http.MethodGet, h.srv.URL+depPath(streamed, "logs")+"?follow=true", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header = asStreamer
				resp, err := h.srv.Client().Do(req) // once the stream has begun
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("a stream of a PENDING deployment: %v %v", resp, err)
				}
				defer func() { _ = resp.Body.Close() }()
			}
			do(exchange{name: "logs followed 17 times at once", op: depLogs, path: depPath(streamed, "logs") + "?follow=true",
				header: asStreamer, status: 429})
			do(exchange{name: "service logs followed beside 16 streams", op: "GET /v1/services/{serviceId}/logs",
				path: "/v1/services/" + h.serviceIn("production", "api") + "/logs?follow=true", header: asStreamer, status: 429})
			closeStreams()

			// Deploy hook management.
			h.rec.Flush(ctx)
			envHooks := "/v1/environments/%d/deploy-hooks"
			created := do(withKey(exchange{name: "create hook", op: "POST /v1/environments/{environmentId}/deploy-hooks",
				path: fmt.Sprintf(envHooks, h.env["staging"]), body: `{"name": "Release"}`, status: 201}))
			var newHook client.CreatedHook
			if err := json.Unmarshal(created, &newHook); err != nil {
				t.Fatal(err)
			}
			do(withKey(exchange{name: "create preview hook", op: "POST /v1/environments/{environmentId}/deploy-hooks",
				path: fmt.Sprintf(envHooks, pv), body: `{"name": "PRs"}`, status: 201}))
			do(withKey(exchange{name: "create hook blank name", op: "POST /v1/environments/{environmentId}/deploy-hooks",
				path: fmt.Sprintf(envHooks, p), body: `{"name": "  "}`, status: 400}))
			do(withKey(exchange{name: "create hook non-integer environment", op: "POST /v1/environments/{environmentId}/deploy-hooks",
				path: "/v1/environments/abc/deploy-hooks", body: `{"name": "x"}`, status: 400}))
			do(withKey(exchange{name: "create hook unknown environment", op: "POST /v1/environments/{environmentId}/deploy-hooks",
				path: fmt.Sprintf(envHooks, 99999), body: `{"name": "x"}`, status: 404}))
			do(withKey(exchange{name: "list hooks", op: "GET /v1/environments/{environmentId}/deploy-hooks", path: fmt.Sprintf(envHooks, p), status: 200}))
			do(withKey(exchange{name: "list hooks non-integer environment", op: "GET /v1/environments/{environmentId}/deploy-hooks",
				path: "/v1/environments/abc/deploy-hooks", status: 400}))
			do(withKey(exchange{name: "list hooks unknown environment", op: "GET /v1/environments/{environmentId}/deploy-hooks",
				path: fmt.Sprintf(envHooks, 99999), status: 404}))
			do(withKey(exchange{name: "get hook", op: "GET /v1/deploy-hooks/{hookId}", path: "/v1/deploy-hooks/" + prodID, status: 200}))
			do(withKey(exchange{name: "get hook unknown", op: "GET /v1/deploy-hooks/{hookId}", path: "/v1/deploy-hooks/cnope", status: 404}))
			do(withKey(exchange{name: "hook calls", op: "GET /v1/deploy-hooks/{hookId}/calls", path: "/v1/deploy-hooks/" + prodID + "/calls", status: 200}))
			do(withKey(exchange{name: "hook calls with limit", op: "GET /v1/deploy-hooks/{hookId}/calls", path: "/v1/deploy-hooks/" + prodID + "/calls?limit=2", status: 200}))
			do(withKey(exchange{name: "hook calls bad limit", op: "GET /v1/deploy-hooks/{hookId}/calls", path: "/v1/deploy-hooks/" + prodID + "/calls?limit=x", status: 400}))
			do(withKey(exchange{name: "hook calls unknown hook", op: "GET /v1/deploy-hooks/{hookId}/calls", path: "/v1/deploy-hooks/cnope/calls", status: 404}))
			do(withKey(exchange{name: "pause hook", op: "POST /v1/deploy-hooks/{hookId}/pause", path: "/v1/deploy-hooks/" + newHook.ID + "/pause", status: 200}))
			do(withKey(exchange{name: "pause unknown hook", op: "POST /v1/deploy-hooks/{hookId}/pause", path: "/v1/deploy-hooks/cnope/pause", status: 404}))
			do(withKey(exchange{name: "resume hook", op: "POST /v1/deploy-hooks/{hookId}/resume", path: "/v1/deploy-hooks/" + newHook.ID + "/resume", status: 200}))
			do(withKey(exchange{name: "resume unknown hook", op: "POST /v1/deploy-hooks/{hookId}/resume", path: "/v1/deploy-hooks/cnope/resume", status: 404}))
			do(withKey(exchange{name: "rotate hook with grace", op: "POST /v1/deploy-hooks/{hookId}/rotate", path: "/v1/deploy-hooks/" + prodID + "/rotate",
				body: `{"gracePeriodSeconds": 3600}`, status: 200}))
			do(withKey(exchange{name: "rotate hook without body", op: "POST /v1/deploy-hooks/{hookId}/rotate", path: "/v1/deploy-hooks/" + prodID + "/rotate", status: 200}))
			do(withKey(exchange{name: "rotate hook grace too long", op: "POST /v1/deploy-hooks/{hookId}/rotate", path: "/v1/deploy-hooks/" + prodID + "/rotate",
				body: `{"gracePeriodSeconds": 99999999}`, status: 400}))
			do(withKey(exchange{name: "rotate hook unknown field", op: "POST /v1/deploy-hooks/{hookId}/rotate", path: "/v1/deploy-hooks/" + prodID + "/rotate",
				body: `{"grace": 1}`, status: 400}))
			do(withKey(exchange{name: "rotate unknown hook", op: "POST /v1/deploy-hooks/{hookId}/rotate", path: "/v1/deploy-hooks/cnope/rotate", status: 404}))
			do(withKey(exchange{name: "delete hook", op: "DELETE /v1/deploy-hooks/{hookId}", path: "/v1/deploy-hooks/" + newHook.ID, status: 204}))
			do(withKey(exchange{name: "delete deleted hook", op: "DELETE /v1/deploy-hooks/{hookId}", path: "/v1/deploy-hooks/" + newHook.ID, status: 404}))

			// Projects and environments.
			fc := gittest.New(t)
			fc.Commit("fc", map[string]string{"flightcontrol.json": `{"environments":[{"id":"production","name":"P","region":"us-east-1","source":{"branch":"main"},"services":[{"id":"web","name":"Web","type":"web","cpu":0.5,"startCommand":"x"}]}]}`})
			createdProject := do(withKey(exchange{name: "create project", op: "POST /v1/projects", path: "/v1/projects",
				body: jsonBody(map[string]string{"name": "fc", "repoUrl": fc.Dir, "configPath": "flightcontrol.json", "githubRepository": "acme/fc"}), status: 201}))
			var fcProject client.Project
			if err := json.Unmarshal(createdProject, &fcProject); err != nil || len(fcProject.Warnings) == 0 ||
				fcProject.GitHubRepository == nil || *fcProject.GitHubRepository != "acme/fc" {
				t.Fatalf("the project should come with warnings and its GitHub repository: %s", createdProject)
			}
			do(withKey(exchange{name: "create project invalid githubRepository", op: "POST /v1/projects", path: "/v1/projects",
				body: jsonBody(map[string]string{"name": "x", "repoUrl": fc.Dir, "githubRepository": "https://github.com/acme/fc"}), status: 400}))
			do(withKey(exchange{name: "create project invalid JSON", op: "POST /v1/projects", path: "/v1/projects", body: `{"name":`, status: 400}))
			do(withKey(exchange{name: "create project unknown field", op: "POST /v1/projects", path: "/v1/projects", body: `{"name":"x","repo":"y"}`, status: 400}))
			do(withKey(exchange{name: "create project without repoUrl", op: "POST /v1/projects", path: "/v1/projects", body: `{"name":"x"}`, status: 400}))
			do(withKey(exchange{name: "list projects", op: "GET /v1/projects", path: "/v1/projects", status: 200}))
			do(withKey(exchange{name: "get project", op: "GET /v1/projects/{projectId}", path: "/v1/projects/" + h.project.ProjectID, status: 200}))
			do(withKey(exchange{name: "get project unknown", op: "GET /v1/projects/{projectId}", path: "/v1/projects/cnope", status: 404}))
			do(withKey(exchange{name: "delete project unknown", op: "DELETE /v1/projects/{projectId}", path: "/v1/projects/cnope", status: 404}))
			do(withKey(exchange{name: "sync project", op: "POST /v1/projects/{projectId}/sync", path: "/v1/projects/" + h.project.ProjectID + "/sync", status: 200}))
			do(withKey(exchange{name: "sync project unknown", op: "POST /v1/projects/{projectId}/sync", path: "/v1/projects/cnope/sync", status: 404}))
			fc.Commit("break", map[string]string{"flightcontrol.json": `{"environments":[{"id":"production","name":"P","source":{"branch":"main"},"services":[{"id":"web","name":"Web","type":"banana"}]}]}`})
			do(withKey(exchange{name: "sync project invalid config", op: "POST /v1/projects/{projectId}/sync", path: "/v1/projects/" + fcProject.ProjectID + "/sync", status: 400}))
			do(withKey(exchange{name: "get environment", op: "GET /v1/environments/{environmentId}", path: fmt.Sprintf("/v1/environments/%d", p), status: 200}))
			do(withKey(exchange{name: "get preview environment", op: "GET /v1/environments/{environmentId}", path: fmt.Sprintf("/v1/environments/%d", pv), status: 200}))
			do(withKey(exchange{name: "get environment of services Liftoff does not run", op: "GET /v1/environments/{environmentId}",
				path: fmt.Sprintf("/v1/environments/%d", d), status: 200}))
			do(withKey(exchange{name: "get environment non-integer", op: "GET /v1/environments/{environmentId}", path: "/v1/environments/abc", status: 400}))
			do(withKey(exchange{name: "get environment unknown", op: "GET /v1/environments/{environmentId}", path: "/v1/environments/99999", status: 404}))

			// Previews. No engine runs here, so no deployment made a preview
			// instance: make PR 5's through the store, as its first
			// deployment would.
			if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: pv, PRNumber: 5, HeadBranch: "feature/login",
				At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			listPreviews, deletePreview := "GET /v1/environments/{environmentId}/previews", "DELETE /v1/environments/{environmentId}/previews/{prNumber}"
			var previews struct{ Previews []client.PreviewInstance }
			if err := json.Unmarshal(do(withKey(exchange{name: "list previews", op: listPreviews, path: fmt.Sprintf("/v1/environments/%d/previews", pv), status: 200})), &previews); err != nil ||
				len(previews.Previews) != 1 || previews.Previews[0].PRNumber != 5 {
				t.Errorf("PR 5 should have a preview: %+v %v", previews, err)
			}
			do(withKey(exchange{name: "list previews of a normal environment", op: listPreviews, path: fmt.Sprintf("/v1/environments/%d/previews", p), status: 400}))
			do(withKey(exchange{name: "list previews non-integer environment", op: listPreviews, path: "/v1/environments/abc/previews", status: 400}))
			do(withKey(exchange{name: "list previews unknown environment", op: listPreviews, path: "/v1/environments/99999/previews", status: 404}))
			var torn client.PreviewInstance
			if err := json.Unmarshal(do(withKey(exchange{name: "delete preview", op: deletePreview, path: fmt.Sprintf("/v1/environments/%d/previews/5", pv), status: 200})), &torn); err != nil ||
				torn.DeletedAt == nil {
				t.Errorf("a torn down preview has deletedAt: %+v %v", torn, err)
			}
			do(withKey(exchange{name: "delete deleted preview", op: deletePreview, path: fmt.Sprintf("/v1/environments/%d/previews/5", pv), status: 404}))
			do(withKey(exchange{name: "delete preview of a PR without one", op: deletePreview, path: fmt.Sprintf("/v1/environments/%d/previews/77", pv), status: 404}))
			do(withKey(exchange{name: "delete preview zero prNumber", op: deletePreview, path: fmt.Sprintf("/v1/environments/%d/previews/0", pv), status: 400}))
			do(withKey(exchange{name: "delete preview of a normal environment", op: deletePreview, path: fmt.Sprintf("/v1/environments/%d/previews/5", p), status: 400}))
			do(withKey(exchange{name: "delete preview unknown environment", op: deletePreview, path: "/v1/environments/99999/previews/5", status: 404}))

			// API keys.
			key := do(withKey(exchange{name: "create API key", op: "POST /v1/api-keys", path: "/v1/api-keys", body: `{"name": "ci"}`, status: 201}))
			var newKey client.APIKey
			if err := json.Unmarshal(key, &newKey); err != nil {
				t.Fatal(err)
			}
			do(withKey(exchange{name: "create deploy API key", op: "POST /v1/api-keys", path: "/v1/api-keys",
				body: fmt.Sprintf(`{"name": "CI", "scope": "deploy", "environmentIds": [%d, %d]}`, p, pv), status: 201}))
			do(withKey(exchange{name: "create read API key", op: "POST /v1/api-keys", path: "/v1/api-keys", body: `{"name": "dashboard", "scope": "read"}`, status: 201}))
			do(withKey(exchange{name: "create deploy API key without environments", op: "POST /v1/api-keys", path: "/v1/api-keys",
				body: `{"name": "CI", "scope": "deploy"}`, status: 400}))
			do(withKey(exchange{name: "create API key blank name", op: "POST /v1/api-keys", path: "/v1/api-keys", body: `{"name": ""}`, status: 400}))
			do(withKey(exchange{name: "list API keys", op: "GET /v1/api-keys", path: "/v1/api-keys", status: 200}))
			do(withKey(exchange{name: "delete API key", op: "DELETE /v1/api-keys/{apiKeyId}", path: "/v1/api-keys/" + newKey.ID, status: 204}))
			do(withKey(exchange{name: "delete deleted API key", op: "DELETE /v1/api-keys/{apiKeyId}", path: "/v1/api-keys/" + newKey.ID, status: 404}))

			// The document itself, unknown paths and wrong methods.
			do(exchange{name: "openapi.json", op: "GET /v1/openapi.json", path: "/v1/openapi.json", status: 200})
			do(exchange{name: "liftoff.json schema", op: "GET /schema/liftoff.json", path: "/schema/liftoff.json", status: 200})
			do(exchange{name: "liftoff.json schema, malformed query", op: "GET /schema/liftoff.json", path: "/schema/liftoff.json?%zz", status: 400})
			do(withKey(exchange{name: "unknown endpoint", response: "NotFound", method: "GET", path: "/v1/nothing", status: 404}))
			do(withKey(exchange{name: "wrong method", response: "MethodNotAllowed", method: "DELETE", path: "/v1/projects", status: 405}))

			// Every operation that takes an API key: without one, with a
			// wrong one, and with the store down.
			var keyed []string
			for key, op := range operations(c.doc) {
				if requires(security(c.doc, op), "apiKey") {
					keyed = append(keyed, key)
				}
			}
			sort.Strings(keyed)
			for _, op := range keyed {
				_, path, _ := strings.Cut(op, " ")
				path = fillPath.Replace(path)
				do(exchange{name: "no key " + op, op: op, path: path, status: 401})
				do(exchange{name: "invalid key " + op, op: op, path: path, header: http.Header{"Authorization": {"Bearer lfk_wrong"}}, status: 401})
				run(closed, exchange{name: "store down " + op, op: op, path: path, header: bearer, status: 503})
			}
			// Every /v1 operation: a query string that does not parse.
			for key := range operations(c.doc) {
				method, path, _ := strings.Cut(key, " ")
				if strings.HasPrefix(path, "/v1/") {
					do(exchange{name: "malformed query " + key, op: key, method: method, path: fillPath.Replace(path) + "?%zz", header: bearer, status: 400})
				}
			}

			// Scopes: a read key is refused every change and a deploy key
			// every route beyond its environments, whatever the resource
			// (403); a deploy key asking for another environment's
			// deployments is told there are none (404).
			readKey, err := h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "read", Scope: "read"})
			if err != nil {
				t.Fatal(err)
			}
			deployKey, err := h.c.CreateAPIKeyWith(ctx, client.NewAPIKey{Name: "CI", Scope: "deploy", EnvironmentIDs: []int64{p}})
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range keyed {
				if operations(c.doc)[op].Responses.Status(http.StatusForbidden) == nil {
					continue
				}
				method, path, _ := strings.Cut(op, " ")
				key := readKey.Key
				if method == http.MethodGet {
					key = deployKey.Key // a read key may read everything
				}
				do(exchange{name: "forbidden " + op, op: op, path: fillPath.Replace(path), header: http.Header{"Authorization": {"Bearer " + key}}, status: 403})
			}
			do(exchange{name: "deployments of another environment with a deploy key", op: listDeps,
				path: fmt.Sprintf("/v1/deployments?environmentId=%d", pv), header: http.Header{"Authorization": {"Bearer " + deployKey.Key}}, status: 404})

			// Start Deployment: the hook's trigger path, for an API key.
			startDep := "POST /v1/environments/{environmentId}/deployments"
			envDeps := func(env int64) string { return fmt.Sprintf("/v1/environments/%d/deployments", env) }
			var started, joined client.StartedDeployment
			if err := json.Unmarshal(do(withKey(exchange{name: "start a deployment", op: startDep, path: envDeps(p),
				body: jsonBody(map[string]any{"branch": "main", "commit": head}), status: 201})), &started); err != nil || started.Outcome != "queued" ||
				started.Status != "PENDING" || started.Trigger.Type != "api" || started.Trigger.APIKeyName == nil || started.GitBranch != "main" {
				t.Errorf("start a deployment: %+v %v", started, err)
			}
			if err := json.Unmarshal(do(withKey(exchange{name: "start a deployment that joins", op: startDep, path: envDeps(p),
				body: jsonBody(map[string]any{"commit": head[:7], "force": true}), status: 200})), &joined); err != nil || joined.Outcome != "joined" ||
				joined.DeploymentID != started.DeploymentID || !joined.Force {
				t.Errorf("an equal PENDING deployment should answer, forced: %+v %v", joined, err)
			}
			var cleared client.StartedDeployment
			if err := json.Unmarshal(do(withKey(exchange{name: "start a deployment with clearCache joins and upgrades", op: startDep, path: envDeps(p),
				body: jsonBody(map[string]any{"commit": head, "force": true, "clearCache": true}), status: 200})), &cleared); err != nil ||
				cleared.DeploymentID != started.DeploymentID || !cleared.Force || !cleared.ClearCache {
				t.Errorf("clearCache should upgrade the PENDING deployment: %+v %v", cleared, err)
			}
			do(withKey(exchange{name: "start a deployment with clearCache without force", op: startDep, path: envDeps(p), body: `{"clearCache": true}`, status: 400}))
			do(withKey(exchange{name: "start a deployment with a bad commit", op: startDep, path: envDeps(p), body: `{"commit": "xyz"}`, status: 400}))
			do(withKey(exchange{name: "start a deployment with an unknown field", op: startDep, path: envDeps(p), body: `{"prNumber": 3}`, status: 400}))
			do(withKey(exchange{name: "start a deployment of a preview environment", op: startDep, path: envDeps(pv), status: 400}))
			do(withKey(exchange{name: "start a deployment of an unknown environment", op: startDep, path: envDeps(99999), status: 404}))
			do(withKey(exchange{name: "start a deployment of an environment without services", op: startDep, path: envDeps(d), status: 409}))

			// Variables and secrets, at each level.
			svcs, err := h.store.ListServices(ctx, store.ListServicesParams{EnvironmentID: p})
			if err != nil || len(svcs) == 0 {
				t.Fatalf("services of production: %v, %v", svcs, err)
			}
			for _, lv := range []struct{ base, missing, tmpl string }{
				{"/v1/projects/" + h.project.ProjectID, "/v1/projects/cnope", "/v1/projects/{projectId}"},
				{fmt.Sprintf("/v1/environments/%d", p), "/v1/environments/99999", "/v1/environments/{environmentId}"},
				{"/v1/services/" + svcs[0].ID, "/v1/services/cnope", "/v1/services/{serviceId}"},
			} {
				base, missingBase, tmpl := lv.base, lv.missing, lv.tmpl
				do(withKey(exchange{name: "set variables " + tmpl, op: "POST " + tmpl + "/env-variables", path: base + "/env-variables",
					body: `{"plainText": {"LOG_LEVEL": "info"}, "secretsManager": {"TOKEN": "t0k3n"}}`, status: 200}))
				do(withKey(exchange{name: "set variables of nothing " + tmpl, op: "POST " + tmpl + "/env-variables", path: missingBase + "/env-variables",
					body: `{"plainText": {"LOG_LEVEL": "info"}}`, status: 404}))
				if body := string(do(withKey(exchange{name: "list variables " + tmpl, op: "GET " + tmpl + "/env-variables", path: base + "/env-variables", status: 200}))); strings.Contains(body, "t0k3n") {
					t.Errorf("a secret's value was listed: %s", body)
				}
				do(withKey(exchange{name: "list variables of nothing " + tmpl, op: "GET " + tmpl + "/env-variables", path: missingBase + "/env-variables", status: 404}))
				do(withKey(exchange{name: "delete a variable " + tmpl, op: "DELETE " + tmpl + "/env-variables/{name}", path: base + "/env-variables/LOG_LEVEL", status: 204}))
				do(withKey(exchange{name: "delete a deleted variable " + tmpl, op: "DELETE " + tmpl + "/env-variables/{name}", path: base + "/env-variables/LOG_LEVEL", status: 404}))
				if strings.Contains(tmpl, "services") {
					continue
				}
				do(withKey(exchange{name: "set a secret " + tmpl, op: "POST " + tmpl + "/secrets", path: base + "/secrets",
					body: `{"name": "/prod/db", "value": "pw"}`, status: 204}))
				do(withKey(exchange{name: "set a secret of nothing " + tmpl, op: "POST " + tmpl + "/secrets", path: missingBase + "/secrets",
					body: `{"name": "/prod/db", "value": "pw"}`, status: 404}))
				do(withKey(exchange{name: "list secrets " + tmpl, op: "GET " + tmpl + "/secrets", path: base + "/secrets", status: 200}))
				do(withKey(exchange{name: "list secrets of nothing " + tmpl, op: "GET " + tmpl + "/secrets", path: missingBase + "/secrets", status: 404}))
				do(withKey(exchange{name: "delete a secret " + tmpl, op: "DELETE " + tmpl + "/secrets", path: base + "/secrets?name=%2Fprod%2Fdb", status: 204}))
				do(withKey(exchange{name: "delete a deleted secret " + tmpl, op: "DELETE " + tmpl + "/secrets", path: base + "/secrets?name=%2Fprod%2Fdb", status: 404}))
			}

			// Jobs of a scheduler. No engine runs: runs stay INITIALIZING.
			cron := h.schedulerRelease("production")
			runJob, listJobs, getJob, jobLogs := "POST /v1/services/{serviceId}/job/{jobGivenId}/execution",
				"GET /v1/services/{serviceId}/job/{jobGivenId}/executions", "GET /v1/job-executions/{executionId}",
				"GET /v1/job-executions/{executionId}/logs"
			var jobRun client.CreatedJobExecution
			if err := json.Unmarshal(do(withKey(exchange{name: "run a job", op: runJob, path: "/v1/services/" + cron + "/job/nightly/execution", status: 201})), &jobRun); err != nil {
				t.Fatal(err)
			}
			do(withKey(exchange{name: "run a job with another command", op: runJob, path: "/v1/services/" + cron + "/job/byhand/execution",
				body: `{"startCommand": ["node", "other.js"]}`, status: 201}))
			do(withKey(exchange{name: "run a job with a bad command", op: runJob, path: "/v1/services/" + cron + "/job/byhand/execution",
				body: `{"startCommand": []}`, status: 400}))
			do(withKey(exchange{name: "run an unknown job", op: runJob, path: "/v1/services/" + cron + "/job/weekly/execution", status: 404}))
			do(withKey(exchange{name: "get a job execution", op: getJob, path: "/v1/job-executions/" + jobRun.JobExecutionID, status: 200}))
			do(withKey(exchange{name: "get an unknown job execution", op: getJob, path: "/v1/job-executions/cnope", status: 404}))
			do(withKey(exchange{name: "job execution logs", op: jobLogs, path: "/v1/job-executions/" + jobRun.JobExecutionID + "/logs", status: 200}))
			do(withKey(exchange{name: "logs of an unknown job execution", op: jobLogs, path: "/v1/job-executions/cnope/logs", status: 404}))
			do(withKey(exchange{name: "list job executions", op: listJobs, path: "/v1/services/" + cron + "/job/nightly/executions?limit=5", status: 200}))
			do(withKey(exchange{name: "list job executions, limit too high", op: listJobs, path: "/v1/services/" + cron + "/job/nightly/executions?limit=101", status: 400}))
			do(withKey(exchange{name: "list job executions of an unknown service", op: listJobs, path: "/v1/services/cnope/job/nightly/executions", status: 404}))

			// Webhooks of an environment and their delivery logs.
			notifOp := "/v1/environments/{environmentId}/notifications"
			notifPath := func(env int64) string { return fmt.Sprintf("/v1/environments/%d/notifications", env) }
			var made client.CreatedNotification
			answer0 := do(withKey(exchange{name: "create a webhook", op: "POST " + notifOp, path: notifPath(p),
				body: `{"url": "https://hooks.example.com/T0/secret-path", "events": ["deployment.failed"], "format": "slack"}`, status: 201}))
			if err := json.Unmarshal(answer0, &made); err != nil || !strings.HasPrefix(made.Secret, "whsec_") || made.URL != "https://hooks.example.com/…" ||
				made.Source != "api" || made.Format != "slack" {
				t.Errorf("a webhook made: %s %v", answer0, err)
			}
			do(withKey(exchange{name: "create a webhook with a bad URL", op: "POST " + notifOp, path: notifPath(p), body: `{"url": "ftp://x"}`, status: 400}))
			do(withKey(exchange{name: "create a webhook of an unknown environment", op: "POST " + notifOp, path: notifPath(99999),
				body: `{"url": "https://hooks.example.com/x"}`, status: 404}))
			listed := do(withKey(exchange{name: "list webhooks", op: "GET " + notifOp, path: notifPath(p), status: 200}))
			if strings.Contains(string(listed), "secret-path") || strings.Contains(string(listed), made.Secret) {
				t.Errorf("the list shows a secret: %s", listed)
			}
			do(withKey(exchange{name: "list webhooks of an unknown environment", op: "GET " + notifOp, path: notifPath(99999), status: 404}))
			one := notifPath(p) + "/" + made.ID
			var rotated client.CreatedNotification
			if err := json.Unmarshal(do(withKey(exchange{name: "rotate a webhook's secret", op: "POST " + notifOp + "/{notificationId}/rotate",
				path: one + "/rotate", status: 200})), &rotated); err != nil || rotated.Secret == made.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
				t.Errorf("rotated: %+v %v", rotated, err)
			}
			do(withKey(exchange{name: "rotate an unknown webhook", op: "POST " + notifOp + "/{notificationId}/rotate", path: notifPath(p) + "/cnope/rotate", status: 404}))
			do(withKey(exchange{name: "list a webhook's deliveries", op: "GET " + notifOp + "/{notificationId}/deliveries", path: one + "/deliveries?limit=5", status: 200}))
			do(withKey(exchange{name: "list an unknown webhook's deliveries", op: "GET " + notifOp + "/{notificationId}/deliveries",
				path: notifPath(p) + "/cnope/deliveries", status: 404}))
			do(withKey(exchange{name: "delete a webhook of another environment", op: "DELETE " + notifOp + "/{notificationId}", path: notifPath(pv) + "/" + made.ID, status: 404}))
			do(withKey(exchange{name: "delete a webhook", op: "DELETE " + notifOp + "/{notificationId}", path: one, status: 204}))

			// Protection and share links.
			getProt, setProt, share := "GET /v1/environments/{environmentId}/protection", "PUT /v1/environments/{environmentId}/protection",
				"POST /v1/environments/{environmentId}/share-links"
			protPath := func(env int64) string { return fmt.Sprintf("/v1/environments/%d/protection", env) }
			sharePath := func(env int64) string { return fmt.Sprintf("/v1/environments/%d/share-links", env) }
			var prot client.Protection
			if err := json.Unmarshal(do(withKey(exchange{name: "read a preview's default protection", op: getProt, path: protPath(pv), status: 200})), &prot); err != nil ||
				prot.Mode != "protected" || !prot.IsDefault || prot.HasPassword || prot.UpdatedAt != nil {
				t.Errorf("a preview's default protection: %+v %v", prot, err)
			}
			do(withKey(exchange{name: "read an unknown environment's protection", op: getProt, path: protPath(99999), status: 404}))
			do(withKey(exchange{name: "read protection with a bad id", op: getProt, path: "/v1/environments/abc/protection", status: 400}))
			answer := do(withKey(exchange{name: "set a password", op: setProt, path: protPath(pv), body: `{"password": "correct horse"}`, status: 200}))
			if err := json.Unmarshal(answer, &prot); err != nil || !prot.HasPassword || !prot.IsDefault || strings.Contains(string(answer), "correct horse") {
				t.Errorf("after setting a password: %s %v", answer, err)
			}
			if err := json.Unmarshal(do(withKey(exchange{name: "set production protected", op: setProt, path: protPath(p), body: `{"mode": "protected"}`,
				status: 200})), &prot); err != nil || prot.Mode != "protected" || prot.IsDefault || prot.UpdatedAt == nil {
				t.Errorf("production set protected: %+v %v", prot, err)
			}
			do(withKey(exchange{name: "set an unknown mode", op: setProt, path: protPath(pv), body: `{"mode": "private"}`, status: 400}))
			do(withKey(exchange{name: "set a short password", op: setProt, path: protPath(pv), body: `{"password": "short"}`, status: 400}))
			do(withKey(exchange{name: "set nothing", op: setProt, path: protPath(pv), body: `{}`, status: 400}))
			do(withKey(exchange{name: "set an unknown environment's protection", op: setProt, path: protPath(99999), body: `{"mode": "public"}`, status: 404}))
			var link client.ShareLink
			if err := json.Unmarshal(do(withKey(exchange{name: "create a share link", op: share, path: sharePath(pv),
				body: `{"prNumber": 5, "expiresIn": "2h", "host": "web.pr-5.preview.localhost:8000"}`, status: 201})), &link); err != nil ||
				!strings.HasPrefix(link.URL, "http://web.pr-5.preview.localhost:8000/?liftoff_share=") || link.ExpiresAt == "" {
				t.Errorf("a share link: %+v %v", link, err)
			}
			do(withKey(exchange{name: "create a share link of a PR never deployed", op: share, path: sharePath(pv), body: `{"prNumber": 77}`, status: 409}))
			do(withKey(exchange{name: "create a share link without prNumber", op: share, path: sharePath(pv), status: 400}))
			do(withKey(exchange{name: "create a share link with a bad expiry", op: share, path: sharePath(pv), body: `{"prNumber": 5, "expiresIn": "forever"}`, status: 400}))
			do(withKey(exchange{name: "create a share link of an unknown environment", op: share, path: sharePath(99999), body: `{"prNumber": 5}`, status: 404}))

			// A service's runtime.
			getSvc, svcLogs := "GET /v1/services/{serviceId}", "GET /v1/services/{serviceId}/logs"
			api := h.serviceIn("production", "api")
			do(withKey(exchange{name: "get a service never released", op: getSvc, path: "/v1/services/" + api, status: 200}))
			do(withKey(exchange{name: "get an unknown service", op: getSvc, path: "/v1/services/cnope", status: 404}))
			do(withKey(exchange{name: "get a service with a bad prNumber", op: getSvc, path: "/v1/services/" + api + "?prNumber=0", status: 400}))
			do(withKey(exchange{name: "service logs", op: svcLogs, path: "/v1/services/" + api + "/logs?since=10m", status: 200}))
			do(withKey(exchange{name: "service logs followed", op: svcLogs, path: "/v1/services/" + api + "/logs?follow=true", status: 200}))
			do(withKey(exchange{name: "service logs since a bad time", op: svcLogs, path: "/v1/services/" + api + "/logs?since=yesterday", status: 400}))
			do(withKey(exchange{name: "logs of an unknown service", op: svcLogs, path: "/v1/services/cnope/logs", status: 404}))
			h.crashedService(api, "node-b")
			do(withKey(exchange{name: "get a crashed service", op: getSvc, path: "/v1/services/" + api, status: 200}))
			do(withKey(exchange{name: "get an environment with a crashed service", op: "GET /v1/environments/{environmentId}",
				path: fmt.Sprintf("/v1/environments/%d", h.env["production"]), status: 200}))
			h.previewState(h.serviceIn("preview", "api"), 4, liftoff.ServiceRunning)
			do(withKey(exchange{name: "get a preview environment with a running instance", op: "GET /v1/environments/{environmentId}",
				path: fmt.Sprintf("/v1/environments/%d", h.env["preview"]), status: 200}))
			do(withKey(exchange{name: "service logs on another node", op: svcLogs, path: "/v1/services/" + api + "/logs", status: 503}))

			// Managed resources: a database of production's on the test
			// server, when there is one.
			resourcesOf := fmt.Sprintf("/v1/environments/%d/resources", p)
			const listRes, delRes, dumpRes = "GET /v1/environments/{environmentId}/resources",
				"DELETE /v1/environments/{environmentId}/resources/{serviceId}", "POST /v1/environments/{environmentId}/resources/{serviceId}/dump"
			do(withKey(exchange{name: "list no resource", op: listRes, path: resourcesOf, status: 200}))
			do(withKey(exchange{name: "list the resources of no environment", op: listRes, path: "/v1/environments/99999/resources", status: 404}))
			do(withKey(exchange{name: "dump no database", op: dumpRes, path: resourcesOf + "/nope/dump", status: 404}))
			do(withKey(exchange{name: "delete no resource", op: delRes, path: resourcesOf + "/nope", status: 404}))
			if h.makeDatabase(p, 0, "db") {
				do(withKey(exchange{name: "list resources", op: listRes, path: resourcesOf, status: 200}))
				do(withKey(exchange{name: "dump a database", op: dumpRes, path: resourcesOf + "/db/dump", status: 200}))
				do(withKey(exchange{name: "delete a database", op: delRes, path: resourcesOf + "/db", status: 200}))
			} else {
				t.Logf("%s is not set: the answers of a database that exists are not exercised", rt.EnvDatabaseURL)
				c.covered[dumpRes+" 200"], c.covered[delRes+" 200"] = true, true
			}

			// Delete a project: last, the others need this one.
			doomed := gittest.New(t)
			doomed.Commit("init", map[string]string{"liftoff.json": testConfig})
			dp, err := h.c.CreateProject(ctx, "doomed", doomed.Dir, "")
			if err != nil {
				t.Fatal(err)
			}
			do(withKey(exchange{name: "delete project", op: "DELETE /v1/projects/{projectId}", path: "/v1/projects/" + dp.ProjectID, status: 204}))
			do(withKey(exchange{name: "delete a deleted project", op: "DELETE /v1/projects/{projectId}", path: "/v1/projects/" + dp.ProjectID, status: 404}))

			// The GitHub webhook.
			exerciseGitHubWebhook(t, h, dialect, run)

			// Every documented answer was seen, except those no test can
			// provoke: unexpected errors, and conflicts of concurrent writes.
			var missing []string
			for key, op := range operations(c.doc) {
				if key == "GET /healthz" || key == "GET /readyz" || key == "GET /metrics" { // served by internal/server: TestOpenAPIServer
					continue
				}
				for status := range op.Responses.Map() {
					excused := status == "500" || status == "409" && strings.Contains(key, " /v1/")
					if !c.covered[key+" "+status] && !excused {
						missing = append(missing, key+" "+status)
					}
				}
			}
			sort.Strings(missing)
			if len(missing) != 0 {
				t.Errorf("documented answers no request exercised: %v", missing)
			}
			t.Logf("%d (operation, status) pairs exercised", len(c.covered))
		})
	}
}

// webhookConfig is the config of the project the GitHub webhook exchanges
// act on: a normal environment on main deployed by pushes, one on main that
// only people and hooks deploy, and a preview environment.
const webhookConfig = `{
  "environments": [
    {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
      {"id": "web", "name": "Web", "type": "web", "startCommand": "./web"}
    ]},
    {"id": "audit", "name": "Audit", "source": {"branch": "main", "trigger": "manual"}, "services": [
      {"id": "web", "name": "Web", "type": "web", "startCommand": "./web"}
    ]},
    {"id": "preview", "name": "Preview", "source": {"pr": true}, "services": [
      {"id": "web", "name": "Web", "type": "web", "startCommand": "./web"}
    ]}
  ]
}`

// newWebhookAPI serves another API on st with the GitHub webhook on: the
// harness's has no secret, so its webhook answers 404.
func newWebhookAPI(t *testing.T, st store.Store, secret []byte) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := api.New(api.Deps{Deployments: deploymentsOn(st), Variables: variablesOn(t, st), APIKeys: apikey.NewService(st, cuid.New), Log: log,
		GitHubSecret: secret, Webhooks: &dispatch.Dispatcher{Store: st, Log: log,
			Deployments: &deployment.Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: deployment.NoRunner{}}}})
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv
}

// exerciseGitHubWebhook sends the GitHub payloads of internal/github/testdata
// (one pull request's life in octo-org/shop), signed, to a webhook-enabled
// API on the harness's store, for a project of that repository, and checks
// what each did as well as its answer.
func exerciseGitHubWebhook(t *testing.T, h *harness, dialect string, run func(*httptest.Server, exchange) []byte) {
	t.Helper()
	ctx := context.Background()
	const op = "POST /api/github/webhook"
	const path = "/api/github/webhook"
	secret := []byte("liftoff-webhook-test-secret")
	srv := newWebhookAPI(t, h.store, secret)

	repo := gittest.New(t)
	repo.Commit("init", map[string]string{"liftoff.json": webhookConfig, "web/main.go": "package main"})
	p, err := h.c.CreateProjectWith(ctx, client.NewProject{Name: "octo-shop", RepoURL: repo.Dir, GitHubRepository: "octo-org/shop"})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]int64{}
	for _, e := range p.Environments {
		env[e.GivenID] = e.EnvironmentID
	}
	prod, audit, pv := env["production"], env["audit"], env["preview"]
	if prod == 0 || audit == 0 || pv == 0 {
		t.Fatalf("the webhook project lacks an environment: %+v", p.Environments)
	}

	fixture := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "github", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	deliveries := 0
	signed := func(event, body string, key []byte) http.Header {
		deliveries++
		hd := http.Header{}
		if event != "" {
			hd.Set("X-GitHub-Event", event)
		}
		hd.Set("X-GitHub-Delivery", fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", deliveries))
		if key != nil {
			hd.Set("X-Hub-Signature-256", github.Sign(key, []byte(body)))
		}
		return hd
	}
	deliver := func(name, event, body string) dispatch.Result {
		t.Helper()
		var res dispatch.Result
		out := run(srv, exchange{name: "webhook " + name, op: op, path: path, header: signed(event, body, secret), body: body, status: 202})
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("webhook %s: %v: %s", name, err, out)
		}
		return res
	}
	previewOf42 := func() *client.PreviewInstance {
		t.Helper()
		ps, err := h.c.Previews(ctx, pv)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.PRNumber == 42 {
				return &p
			}
		}
		return nil
	}
	const headSHA, mergeSHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "ad2d5075e2c1c95e8c82c8360b2c9f2c5100d127"
	requested := func(q dispatch.Queued) string {
		t.Helper()
		d, err := h.store.GetDeployment(ctx, store.GetDeploymentParams{ID: q.DeploymentID})
		if err != nil {
			t.Fatalf("queued deployment %s: %v", q.DeploymentID, err)
		}
		return d.RequestedCommit
	}

	// 200: ping.
	var pong struct{ Event, Message string }
	ping := fixture("ping.json")
	if err := json.Unmarshal(run(srv, exchange{name: "webhook ping", op: op, path: path, header: signed("ping", ping, secret), body: ping, status: 200}), &pong); err != nil ||
		pong.Event != "ping" || !strings.HasPrefix(pong.Message, "pong") {
		t.Errorf("ping answered %+v %v", pong, err)
	}

	// 202: a pull request's life.
	opened := deliver("pull_request opened", "pull_request", fixture("pull_request.opened.json"))
	if len(opened.Queued) != 1 || opened.Queued[0].EnvironmentID != pv || opened.Queued[0].PRNumber == nil || *opened.Queued[0].PRNumber != 42 ||
		requested(opened.Queued[0]) != headSHA || opened.Event != "pull_request" || opened.Action != "opened" {
		t.Errorf("opening PR 42 should deploy its head to the preview environment: %+v", opened)
	}
	// GitHub's default content type: a form with the JSON in "payload".
	form := url.Values{"payload": {fixture("pull_request.synchronize.json")}}.Encode()
	hd := signed("pull_request", form, secret)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	var synced dispatch.Result
	if err := json.Unmarshal(run(srv, exchange{name: "webhook pull_request synchronize as a form", op: op, path: path, header: hd, body: form, status: 202}), &synced); err != nil ||
		len(synced.Queued) != 1 || synced.Queued[0].EnvironmentID != pv {
		t.Errorf("a form-encoded synchronize should deploy the preview: %+v %v", synced, err)
	}
	// No engine runs: make PR 42's instance as its first deployment would.
	if _, err := h.store.UpsertPreviewInstance(ctx, store.UpsertPreviewParams{EnvironmentID: pv, PRNumber: 42, HeadBranch: "feature/checkout", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	closed := deliver("pull_request closed unmerged", "pull_request", fixture("pull_request.closed.unmerged.json"))
	if len(closed.Scheduled) != 1 || closed.Scheduled[0].EnvironmentID != pv || closed.Scheduled[0].At == "" || len(closed.Queued) != 0 {
		t.Errorf("closing PR 42 unmerged should schedule its teardown: %+v", closed)
	}
	if inst := previewOf42(); inst == nil || inst.TeardownAt == nil {
		t.Errorf("PR 42's preview should have a teardown scheduled: %+v", inst)
	}
	reopened := deliver("pull_request reopened", "pull_request", fixture("pull_request.reopened.json"))
	if len(reopened.Queued) != 1 || reopened.Queued[0].EnvironmentID != pv {
		t.Errorf("reopening PR 42 should deploy it again: %+v", reopened)
	}
	if inst := previewOf42(); inst == nil || inst.TeardownAt != nil {
		t.Errorf("reopening PR 42 should cancel its teardown: %+v", inst)
	}
	merged := deliver("pull_request closed merged", "pull_request", fixture("pull_request.closed.merged.json"))
	if len(merged.TornDown) != 1 || merged.TornDown[0].EnvironmentID != pv || merged.TornDown[0].PRNumber != 42 || merged.TornDown[0].At != "" {
		t.Errorf("merging PR 42 should tear its preview down: %+v", merged)
	}
	if inst := previewOf42(); inst != nil {
		t.Errorf("PR 42's preview should be torn down: %+v", inst)
	}
	// The same payload again, under a new delivery id: a replay, 200.
	merged2 := fixture("pull_request.closed.merged.json")
	var again dispatch.Result
	if err := json.Unmarshal(run(srv, exchange{name: "webhook replayed", op: op, path: path, header: signed("pull_request", merged2, secret),
		body: merged2, status: 200}), &again); err != nil || !again.Duplicate || len(again.TornDown) != 0 || len(again.Queued) != 0 {
		t.Errorf("a replayed delivery must do nothing and say so: %+v %v", again, err)
	}
	// The same delivery id with another body: a replay too.
	sync2 := strings.ReplaceAll(fixture("pull_request.synchronize.json"), headSHA, strings.Repeat("e", 40))
	hd = signed("pull_request", sync2, secret)
	hd.Set("X-GitHub-Delivery", fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", 2)) // opened's (ping's, 1, is not recorded)
	if err := json.Unmarshal(run(srv, exchange{name: "webhook delivery id seen", op: op, path: path, header: hd, body: sync2, status: 200}), &again); err != nil ||
		!again.Duplicate || len(again.Queued) != 0 {
		t.Errorf("a known delivery id must do nothing: %+v %v", again, err)
	}

	// 202: pushes.
	pushed := deliver("push main", "push", fixture("push.main.json"))
	if len(pushed.Queued) != 1 || pushed.Queued[0].EnvironmentID != prod || pushed.Queued[0].PRNumber != nil || requested(pushed.Queued[0]) != mergeSHA ||
		len(pushed.Ignored) != 2 || !strings.HasPrefix(pushed.Ignored[0], "audit: ") || !strings.HasPrefix(pushed.Ignored[1], "preview: ") || pushed.Action != "" {
		t.Errorf("a push to main should deploy production and explain why audit and preview were not: %+v", pushed)
	}
	if tag := deliver("push tag", "push", fixture("push.tag.json")); len(tag.Queued) != 0 || len(tag.Ignored) != 3 {
		t.Errorf("a tag deploys nothing, and says why for each of the 3 environments: %+v", tag)
	}
	other := strings.ReplaceAll(fixture("push.main.json"), "octo-org/shop", "octo-org/elsewhere")
	if res := deliver("push to a repository no project uses", "push", other); len(res.Queued) != 0 || len(res.Ignored) != 1 {
		t.Errorf("a push to another repository does nothing: %+v", res)
	}
	if res := deliver("an event Liftoff ignores", "Issues", `{"action": "opened"}`); res.Event != "issues" || len(res.Queued) != 0 || len(res.Ignored) != 1 {
		t.Errorf("an issues event is ignored: %+v", res)
	}

	// 400, 401, 404, 413, 503.
	push := fixture("push.main.json")
	run(srv, exchange{name: "webhook without X-GitHub-Event", op: op, path: path, header: signed("", push, secret), body: push, status: 400})
	noID := signed("push", push, secret)
	noID.Del("X-GitHub-Delivery")
	run(srv, exchange{name: "webhook without X-GitHub-Delivery", op: op, path: path, header: noID, body: push, status: 400})
	run(srv, exchange{name: "webhook payload not JSON", op: op, path: path, header: signed("push", "not a payload", secret), body: "not a payload", status: 400})
	run(srv, exchange{name: "webhook push without a ref", op: op, path: path, header: signed("push", `{"after": "x"}`, secret), body: `{"after": "x"}`, status: 400})
	run(srv, exchange{name: "webhook unsigned", op: op, path: path, header: signed("push", push, nil), body: push, status: 401})
	run(srv, exchange{name: "webhook signed with another secret", op: op, path: path, header: signed("push", push, []byte("another secret")), body: push, status: 401})
	run(h.srv, exchange{name: "webhook without a secret configured", op: op, path: path, header: signed("ping", ping, secret), body: ping, status: 404})
	run(srv, exchange{name: "webhook over GitHub's cap", op: op, path: path, header: signed("push", "", secret), body: strings.Repeat(" ", github.MaxPayloadSize+1), status: 413})
	// The cap is on the payload: form-encoded, a payload under it makes a
	// body over it ("{" is "%7B"), which is accepted; one over it is not.
	padded := func(n int) string {
		return "payload=" + url.QueryEscape(strings.Replace(fixture("push.main.json"), `"ref":`, `"padding": "`+strings.Repeat("{", n)+`", "ref":`, 1))
	}
	big := padded(github.MaxPayloadSize / 2)
	hd = signed("push", big, secret)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(big) <= github.MaxPayloadSize {
		t.Fatalf("the form-encoded body is %d bytes: want more than the cap", len(big))
	}
	run(srv, exchange{name: "webhook form-encoded under GitHub's cap", op: op, path: path, header: hd, body: big, status: 202})
	big = padded(github.MaxPayloadSize)
	hd = signed("push", big, secret)
	hd.Set("Content-Type", "application/x-www-form-urlencoded")
	run(srv, exchange{name: "webhook form-encoded over GitHub's cap", op: op, path: path, header: hd, body: big, status: 413})
	closedStore := storetest.Open(t, dialect)
	if err := closedStore.Close(); err != nil {
		t.Fatal(err)
	}
	run(newWebhookAPI(t, closedStore, secret), exchange{name: "webhook with the store down", op: op, path: path, header: signed("push", push, secret), body: push, status: 503})
}

// TestOpenAPIServer runs the real server (liftoff serve) and validates what
// it serves outside the API handler: /healthz, /readyz, and the document
// itself.
func TestOpenAPIServer(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cfg := server.Config{Addr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0", DataDir: t.TempDir()}
			if dialect == "postgres" {
				cfg.DatabaseURL = storetest.DatabaseURL(t)
			}
			ctx, cancel := context.WithCancel(context.Background())
			addr := make(chan string, 1)
			done := make(chan error, 1)
			go func() {
				done <- server.Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), func(r server.Ready) { addr <- r.Addr })
			}()
			var base string
			select {
			case a := <-addr:
				base = "http://" + a
			case err := <-done:
				cancel()
				t.Fatalf("server stopped: %v", err)
			case <-time.After(30 * time.Second):
				cancel()
				t.Fatal("server did not start")
			}
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("server: %v", err)
				}
			})
			c := newOAChecker(t)
			hc := &http.Client{Timeout: 10 * time.Second}
			t.Run("healthz", func(t *testing.T) {
				c.run(t, base, hc, exchange{name: "healthz", op: "GET /healthz", path: "/healthz", status: 200})
			})
			t.Run("metrics", func(t *testing.T) {
				body := c.run(t, base, hc, exchange{name: "metrics", op: "GET /metrics", path: "/metrics", status: 200})
				if !bytes.Contains(body, []byte("\nliftoff_workers ")) {
					t.Errorf("/metrics serves no liftoff_workers:\n%.500s", body)
				}
			})
			t.Run("openapi.json", func(t *testing.T) {
				body := c.run(t, base, hc, exchange{name: "openapi.json", op: "GET /v1/openapi.json", path: "/v1/openapi.json", status: 200})
				if !bytes.Equal(body, api.OpenAPI()) {
					t.Error("the server does not serve the embedded document as it is")
				}
			})
			t.Run("liftoff.json schema", func(t *testing.T) {
				body := c.run(t, base, hc, exchange{name: "liftoff.json schema", op: "GET /schema/liftoff.json", path: config.SchemaPath, status: 200})
				if !bytes.Equal(body, config.Schema()) {
					t.Error("the server does not serve the schema the config validator uses")
				}
			})
			t.Run("readyz", func(t *testing.T) {
				c.run(t, base, hc, exchange{name: "readyz", op: "GET /readyz", path: "/readyz", status: 200})
				// Without goose's table the schema is at version 0.
				dropVersionTable(t, dialect, cfg)
				c.run(t, base, hc, exchange{name: "readyz with the schema gone", op: "GET /readyz", path: "/readyz", status: 503})
			})
		})
	}
}

// dropVersionTable drops the migrations' version table of the server's
// database behind its back.
func dropVersionTable(t *testing.T, dialect string, cfg server.Config) {
	t.Helper()
	ctx := context.Background()
	if dialect == "postgres" {
		conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP TABLE goose_db_version"); err != nil {
			t.Fatal(err)
		}
		return
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, "liftoff.db")+"?_pragma=busy_timeout(10000)") // the server writes on its own
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.ExecContext(ctx, "DROP TABLE goose_db_version"); err != nil {
		t.Fatal(err)
	}
}
