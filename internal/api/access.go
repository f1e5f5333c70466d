package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// need is the scope a route needs of the API key that calls it.
type need string

const (
	// public routes take no API key: the OpenAPI document, and GitHub's
	// webhook, which its signature authenticates.
	public need = "public"
	// readOnly routes change nothing. Admin and read keys may call them, and
	// a deploy key may on an environment it names; a readOnly route that is
	// about no one environment is not for deploy keys.
	readOnly need = need(apikey.NeedRead)
	// deployOnly routes change the hooks, deployments or previews of one
	// environment: admin keys, and deploy keys on an environment they name.
	deployOnly need = need(apikey.NeedDeploy)
	// adminOnly routes reach beyond one environment: projects, API keys.
	adminOnly need = need(apikey.NeedAdmin)
)

// envFrom says where a route finds the environment a request is about,
// which a deploy key must name.
type envFrom int

const (
	// noEnv: the route is about no one environment; deploy keys are refused.
	noEnv envFrom = iota
	// envPath: the {environmentId} path value.
	envPath
	// envOfHook: the environment of the {hookId} path value's hook.
	envOfHook
	// envOfDeployment: the environment of the {deploymentId} path value's
	// deployment (a preview environment for a preview instance's).
	envOfDeployment
	// envQuery: the environmentId query parameter. Without it the handler
	// limits what it lists to the key's environments (scopedEnvironments).
	envQuery
	// envOfService: the environment of the {serviceId} path value's service.
	envOfService
	// envOfJobExecution: the environment of the {executionId} path value's
	// job execution.
	envOfJobExecution
)

// pathValue is the path value each source reads, "" for none.
func (e envFrom) pathValue() string {
	return [...]string{noEnv: "", envPath: "environmentId", envOfHook: "hookId", envOfDeployment: "deploymentId", envQuery: "",
		envOfService: "serviceId", envOfJobExecution: "executionId"}[e]
}

// route is one entry of the route table.
type route struct {
	pattern string // "METHOD /path", as http.ServeMux takes it
	need    need
	env     envFrom
	// does says what the route does, for 403 answers: "create projects".
	does string
	// hookSecret: the handler also takes "Authorization: Hook <secret>"
	// and checks it itself (readableDeployment).
	hookSecret bool
	handler    handler
}

// check refuses a route whose declaration does not hold together, so that a
// route cannot be added without saying who may call it.
func (rt route) check() error {
	method, path, _ := strings.Cut(rt.pattern, " ")
	switch {
	case rt.handler == nil:
		return fmt.Errorf("route %s has no handler", rt.pattern)
	case !slices.Contains([]need{public, readOnly, deployOnly, adminOnly}, rt.need):
		return fmt.Errorf("route %s declares no scope (need: public, readOnly, deployOnly or adminOnly)", rt.pattern)
	case rt.need == public:
		if rt.env != noEnv || rt.hookSecret || rt.does != "" {
			return fmt.Errorf("public route %s takes no key: it has no environment, hook secret or 403 text", rt.pattern)
		}
		return nil
	case rt.does == "":
		return fmt.Errorf("route %s does not say what it does, for its 403 answer", rt.pattern)
	case (method == http.MethodGet) != (rt.need == readOnly):
		return fmt.Errorf("route %s: GET routes, and only they, are readOnly (a read key reads everything and changes nothing)", rt.pattern)
	case rt.need == deployOnly && rt.env == noEnv:
		return fmt.Errorf("route %s is for deploy keys but finds no environment to check", rt.pattern)
	case rt.need == adminOnly && rt.env != noEnv:
		return fmt.Errorf("route %s is for admin keys only: it needs no environment", rt.pattern)
	}
	for _, e := range []envFrom{envPath, envOfHook, envOfDeployment, envOfService, envOfJobExecution} {
		if has := strings.Contains(path, "{"+e.pathValue()+"}"); has && rt.env == noEnv && rt.need != adminOnly {
			return fmt.Errorf("route %s has {%s} in its path but finds no environment", rt.pattern, e.pathValue())
		}
	}
	if v := rt.env.pathValue(); v != "" && !strings.Contains(path, "{"+v+"}") {
		return fmt.Errorf("route %s finds its environment by {%s}, which its path lacks", rt.pattern, v)
	}
	return nil
}

// guard wraps a route's handler with its access check: authenticate the key
// (401), check its scope against the route (403), check that a deploy key
// names the environment the request is about (404, as for a resource that
// does not exist, so ids of other environments do not leak), then serve.
func (a *API) guard(rt route) handler {
	if rt.need == public {
		return rt.handler
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := hookSecret(r); ok && rt.hookSecret {
			return rt.handler(w, r) // the handler checks the hook secret
		}
		k, err := a.authenticate(r)
		if err != nil {
			return err
		}
		if !allows(apikey.Scope(k.Scope), rt) {
			return forbidden(k, rt)
		}
		if apikey.Scope(k.Scope) == apikey.Deploy {
			if err := a.inScope(r, rt, k); err != nil {
				return err
			}
		}
		return rt.handler(w, r.WithContext(context.WithValue(r.Context(), keyContext{}, k)))
	}
}

// allows says whether a scope may call a route at all, whatever the
// environment (apikey decides, for keys and dashboard users alike).
func allows(s apikey.Scope, rt route) bool {
	return s.Allows(apikey.Need(rt.need), rt.env != noEnv)
}

// forbidden refuses a key the route does not take, saying what it needs.
func forbidden(k liftoff.APIKey, rt route) error {
	var could []string
	if allows(apikey.Read, rt) {
		could = append(could, "a read key")
	}
	if allows(apikey.Deploy, rt) {
		could = append(could, "a deploy key naming the environment")
	}
	could = append(could, "an admin key")
	return fail.Newf(fail.Forbidden, "This API key (scope %s) cannot %s: that takes %s",
		k.Scope, rt.does, strings.Join(could, " or "))
}

// inScope checks that a deploy key names the environment the request is
// about; otherwise it refuses with the handler's own words for a missing
// resource (404), or for a malformed id (400), as the handler would.
func (a *API) inScope(r *http.Request, rt route, k liftoff.APIKey) error {
	var env int64
	var notFound string
	switch rt.env {
	case envPath:
		id, err := pathInt64(r, "environmentId")
		if err != nil {
			return err
		}
		env, notFound = id, "Environment not found"
	case envQuery:
		id, given, err := queryInt(r, "environmentId", 63)
		if err != nil {
			return err
		}
		if !given {
			return nil // the listing is limited to the key's environments
		}
		env, notFound = id, "Environment not found"
	case envOfHook:
		notFound = "Deploy hook not found"
		h, err := a.Hooks.Get(r.Context(), r.PathValue("hookId"))
		if err != nil {
			return orNotFound(err, notFound)
		}
		env = h.EnvironmentID
	case envOfDeployment:
		notFound = "Deployment not found"
		d, err := a.Deployments.Get(r.Context(), r.PathValue("deploymentId"))
		if err != nil {
			return orNotFound(err, notFound)
		}
		env = d.EnvironmentID
	case envOfService:
		notFound = "Service not found"
		id, err := a.Variables.EnvironmentOfService(r.Context(), r.PathValue("serviceId"))
		if err != nil {
			return err
		}
		env = id
	case envOfJobExecution:
		notFound = "Job execution not found"
		x, err := a.jobExecution(r)
		if err != nil {
			return err
		}
		env = x.EnvironmentID
	default:
		// allows refuses deploy keys on routes without an environment.
		return errors.New("route " + rt.pattern + " reached inScope without an environment")
	}
	if !apikey.Scope(k.Scope).Reaches(k.EnvironmentIDs, env) {
		return fail.New(fail.NotFound, notFound)
	}
	return nil
}

// keyContext keys the API key of a request in its context.
type keyContext struct{}

// scopedEnvironments returns the environments a request's deploy key is
// limited to, and whether it is limited at all: listings without an
// environment filter show only these.
func scopedEnvironments(r *http.Request) ([]int64, bool) {
	k, ok := r.Context().Value(keyContext{}).(liftoff.APIKey)
	if !ok || apikey.Scope(k.Scope) != apikey.Deploy {
		return nil, false
	}
	return append([]int64{}, k.EnvironmentIDs...), true
}
