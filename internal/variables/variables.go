// Package variables keeps the environment variables and named secrets set
// through the API and the CLI, and resolves, for a deployment, the
// environment a service gets from them and from its config file.
//
// Variables apply to a project, an environment or one service of an
// environment, and come in Flightcontrol's kinds: plain text, a secret
// (its value sealed by package secretbox, never shown again), or a
// reference: to a named secret ({"fromParameterStore": name},
// {"fromSecretsManager": name}) or to another service ({"fromService":
// {"id", "value"}}). Named secrets belong to a project or to one of its
// environments, which wins.
//
// Resolution follows Flightcontrol: the API's variables merge project,
// environment, service (the narrower wins), and the config file's
// variables (root, environment, service) win over all of them.
package variables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Limits of what is stored.
const (
	// MaxValue is the largest value, in bytes.
	MaxValue = 64 << 10
	// MaxPerRequest is the most variables one call sets.
	MaxPerRequest = 500
	// MaxSecretName is the longest name of a named secret (an ARN fits).
	MaxSecretName = 2048
	// Mask stands for a secret's value wherever one is listed.
	Mask = "********"
)

var nameRule = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Service stores and resolves variables.
type Service struct {
	Store store.Store
	Keys  *secretbox.Keyring
	Now   func() time.Time
}

// New returns the service; keys seal and open secret values.
func New(st store.Store, keys *secretbox.Keyring) *Service {
	return &Service{Store: st, Keys: keys, Now: time.Now}
}

// Open returns the service with the keys of the key file at keyFile,
// which it creates (mode 0600) with a new key when it is missing; created
// says so.
func Open(st store.Store, keyFile string) (s *Service, created bool, err error) {
	keys, created, err := secretbox.LoadOrCreate(keyFile)
	if err != nil {
		return nil, false, err
	}
	return New(st, keys), created, nil
}

// Scope is where a variable applies: a project (EnvironmentID 0), one of
// its environments (ServiceID ""), or one service of an environment (its
// given id).
type Scope struct {
	ProjectID     string
	EnvironmentID int64
	ServiceID     string
}

// Name says the scope in words: "project", "environment" or "service".
func (s Scope) Name() string {
	switch {
	case s.EnvironmentID == 0:
		return "project"
	case s.ServiceID == "":
		return "environment"
	}
	return "service"
}

// ServiceRef is a {"fromService": {"id", "value"}} reference.
type ServiceRef struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Groups is what one call sets, in the groups of Flightcontrol's
// env-variables API: plainText values; parameterStore and secretsManager
// values, kept as secrets; references to named secrets
// (fromParameterStore, fromSecretsManager) and to services (fromService).
type Groups struct {
	PlainText          map[string]string     `json:"plainText,omitempty"`
	ParameterStore     map[string]string     `json:"parameterStore,omitempty"`
	SecretsManager     map[string]string     `json:"secretsManager,omitempty"`
	FromParameterStore map[string]string     `json:"fromParameterStore,omitempty"`
	FromSecretsManager map[string]string     `json:"fromSecretsManager,omitempty"`
	FromService        map[string]ServiceRef `json:"fromService,omitempty"`
}

// Set stores the variables of g in scope, replacing those of the same
// names, and returns how many it saved. Nothing is saved when anything is
// wrong; the error names every variable that is.
func (s *Service) Set(ctx context.Context, scope Scope, g Groups) (int, error) {
	now := s.Now()
	var vars []liftoff.Variable
	var problems []string
	seen := map[string]string{}
	add := func(group, name string, kind liftoff.VariableKind, value string, secret bool) {
		if prev, ok := seen[name]; ok {
			problems = append(problems, fmt.Sprintf("%s is in both %s and %s", name, prev, group))
			return
		}
		seen[name] = group
		if msg := checkName(name); msg != "" {
			problems = append(problems, fmt.Sprintf("%s.%s: %s", group, printable(name), msg))
			return
		}
		if len(value) > MaxValue {
			problems = append(problems, fmt.Sprintf("%s.%s: the value is %d bytes, more than %d", group, name, len(value), MaxValue))
			return
		}
		v := liftoff.Variable{ProjectID: scope.ProjectID, EnvironmentID: scope.EnvironmentID, ServiceID: scope.ServiceID,
			Name: name, Kind: kind, Value: value, UpdatedAt: now}
		if secret {
			v.Value = ""
			id, sealed, err := s.Keys.Seal([]byte(value), variableAAD(v))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s.%s: %v", group, name, err))
				return
			}
			v.KeyID, v.Sealed = id, sealed
		}
		vars = append(vars, v)
	}
	for _, name := range sortedKeys(g.PlainText) {
		add("plainText", name, liftoff.VariablePlainText, g.PlainText[name], false)
	}
	for _, grp := range []struct {
		name string
		m    map[string]string
	}{{"parameterStore", g.ParameterStore}, {"secretsManager", g.SecretsManager}} {
		for _, name := range sortedKeys(grp.m) {
			add(grp.name, name, liftoff.VariableSecret, grp.m[name], true)
		}
	}
	for _, grp := range []struct {
		kind liftoff.VariableKind
		m    map[string]string
	}{{liftoff.VariableFromParameterStore, g.FromParameterStore}, {liftoff.VariableFromSecretsManager, g.FromSecretsManager}} {
		for _, name := range sortedKeys(grp.m) {
			if msg := checkSecretName(grp.m[name]); msg != "" {
				problems = append(problems, fmt.Sprintf("%s.%s: the secret's name %s", grp.kind, name, msg))
				continue
			}
			add(string(grp.kind), name, grp.kind, grp.m[name], false)
		}
	}
	for _, name := range sortedKeys(g.FromService) {
		ref := g.FromService[name]
		if ref.ID == "" || ref.Value == "" {
			problems = append(problems, fmt.Sprintf(`fromService.%s: give the service's "id" and the "value" to read (host, origin, port, or one an operator sets)`, printable(name)))
			continue
		}
		b, _ := json.Marshal(ref)
		add("fromService", name, liftoff.VariableFromService, string(b), false)
	}
	if len(problems) > 0 {
		return 0, fail.Invalidf("nothing was saved: %s", strings.Join(problems, "; "))
	}
	if len(vars) == 0 {
		return 0, fail.Invalidf("no variables given: send plainText, parameterStore, secretsManager, fromParameterStore, fromSecretsManager or fromService")
	}
	if len(vars) > MaxPerRequest {
		return 0, fail.Invalidf("%d variables in one call: send at most %d", len(vars), MaxPerRequest)
	}
	if err := s.Store.Tx(ctx, func(q store.Queries) error { return q.PutVariables(ctx, vars) }); err != nil {
		return 0, err
	}
	return len(vars), nil
}

// View is a variable as it is listed: a secret's value masked.
type View struct {
	Name  string
	Scope string // project, environment or service
	Kind  liftoff.VariableKind
	// Value is a plain value, the name of the secret a reference reads,
	// the {"id", "value"} of a service reference; Mask for a secret.
	Value     string
	UpdatedAt time.Time
}

// List lists the variables set in scope exactly (not those it inherits).
func (s *Service) List(ctx context.Context, scope Scope) ([]View, error) {
	vars, err := s.Store.ListVariables(ctx, store.ListVariablesParams{ProjectID: scope.ProjectID, EnvironmentIDs: []int64{scope.EnvironmentID}})
	if err != nil {
		return nil, err
	}
	out := []View{}
	for _, v := range vars {
		if v.ServiceID != scope.ServiceID {
			continue
		}
		value := v.Value
		if v.Kind == liftoff.VariableSecret {
			value = Mask
		}
		out = append(out, View{Name: v.Name, Scope: scope.Name(), Kind: v.Kind, Value: value, UpdatedAt: v.UpdatedAt})
	}
	return out, nil
}

// Unset removes the variable name from scope.
func (s *Service) Unset(ctx context.Context, scope Scope, name string) error {
	err := s.Store.DeleteVariable(ctx, store.DeleteVariableParams{ProjectID: scope.ProjectID, EnvironmentID: scope.EnvironmentID,
		ServiceID: scope.ServiceID, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		return fail.Wrap(fail.NotFound, err, fmt.Sprintf("no variable %s is set on this %s", printable(name), scope.Name()))
	}
	return err
}

// SecretView is a named secret as it is listed: never its value.
type SecretView struct {
	Name      string
	Scope     string // project or environment
	UpdatedAt time.Time
}

// SetSecret stores the named secret name of a project (environmentID 0) or
// of an environment.
func (s *Service) SetSecret(ctx context.Context, projectID string, environmentID int64, name, value string) error {
	if msg := checkSecretName(name); msg != "" {
		return fail.Invalidf("the secret's name %s", msg)
	}
	if value == "" {
		return fail.Invalidf("secret %s: the value is empty", name)
	}
	if len(value) > MaxValue {
		return fail.Invalidf("secret %s: the value is %d bytes, more than %d", name, len(value), MaxValue)
	}
	sec := liftoff.Secret{ProjectID: projectID, EnvironmentID: environmentID, Name: name, UpdatedAt: s.Now()}
	id, sealed, err := s.Keys.Seal([]byte(value), secretAAD(sec))
	if err != nil {
		return err
	}
	sec.KeyID, sec.Sealed = id, sealed
	return s.Store.Tx(ctx, func(q store.Queries) error { return q.PutSecret(ctx, sec) })
}

// ListSecrets lists the named secrets of a project (environmentID 0) or an
// environment.
func (s *Service) ListSecrets(ctx context.Context, projectID string, environmentID int64) ([]SecretView, error) {
	secrets, err := s.Store.ListSecrets(ctx, store.ListVariablesParams{ProjectID: projectID, EnvironmentIDs: []int64{environmentID}})
	if err != nil {
		return nil, err
	}
	scope := Scope{ProjectID: projectID, EnvironmentID: environmentID}.Name()
	out := make([]SecretView, 0, len(secrets))
	for _, sec := range secrets {
		out = append(out, SecretView{Name: sec.Name, Scope: scope, UpdatedAt: sec.UpdatedAt})
	}
	return out, nil
}

// DeleteSecret removes a named secret.
func (s *Service) DeleteSecret(ctx context.Context, projectID string, environmentID int64, name string) error {
	err := s.Store.DeleteSecret(ctx, store.DeleteSecretParams{ProjectID: projectID, EnvironmentID: environmentID, Name: name})
	if errors.Is(err, store.ErrNotFound) {
		scope := Scope{ProjectID: projectID, EnvironmentID: environmentID}.Name()
		return fail.Wrap(fail.NotFound, err, fmt.Sprintf("no secret %s on this %s", printable(name), scope))
	}
	return err
}

// checkName returns what is wrong with a variable's name, "" when nothing.
func checkName(name string) string {
	switch {
	case name == "":
		return "a name is empty"
	case len(name) > 255:
		return "the name is longer than 255 characters"
	case !nameRule.MatchString(name):
		return "a name is letters, digits and '_', not starting with a digit"
	}
	return ""
}

// checkSecretName returns what is wrong with a named secret's name.
func checkSecretName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is empty"
	case len(name) > MaxSecretName:
		return fmt.Sprintf("is longer than %d characters", MaxSecretName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "holds a control character"
	}
	return ""
}

// printable quotes a name that may hold anything, for a message, when it
// holds what would make the message ambiguous (spaces, quotes, control
// characters); "/prod/db" and ARNs stay as they are.
func printable(name string) string {
	if name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("\"'`\\", r) || r > unicode.MaxASCII
	}) {
		return name
	}
	return strconv.Quote(name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// variableAAD binds a secret variable's sealed value to its row.
func variableAAD(v liftoff.Variable) []byte {
	return []byte(strings.Join([]string{"liftoff variable", v.ProjectID, strconv.FormatInt(v.EnvironmentID, 10), v.ServiceID, v.Name}, "\x00"))
}

// secretAAD binds a named secret's sealed value to its row.
func secretAAD(s liftoff.Secret) []byte {
	return []byte(strings.Join([]string{"liftoff secret", s.ProjectID, strconv.FormatInt(s.EnvironmentID, 10), s.Name}, "\x00"))
}

// ProjectScope is the scope of a live project's own variables.
func (s *Service) ProjectScope(ctx context.Context, projectID string) (Scope, error) {
	if _, err := s.Store.GetProject(ctx, store.GetProjectParams{ID: projectID}); err != nil {
		return Scope{}, notFound(err, "Project not found")
	}
	return Scope{ProjectID: projectID}, nil
}

// EnvironmentScope is the scope of a live environment's variables.
func (s *Service) EnvironmentScope(ctx context.Context, environmentID int64) (Scope, error) {
	env, err := s.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if err == nil && env.Deleted() {
		err = store.ErrNotFound
	}
	if err != nil {
		return Scope{}, notFound(err, "Environment not found")
	}
	return Scope{ProjectID: env.ProjectID, EnvironmentID: env.ID}, nil
}

// ServiceScope is the scope of a live service's variables (by the
// service's id, not its given id).
func (s *Service) ServiceScope(ctx context.Context, serviceID string) (Scope, error) {
	svc, err := s.Store.GetService(ctx, store.GetServiceParams{ID: serviceID})
	if err != nil {
		return Scope{}, notFound(err, "Service not found")
	}
	scope, err := s.EnvironmentScope(ctx, svc.EnvironmentID)
	if err != nil {
		return Scope{}, notFound(err, "Service not found")
	}
	scope.ServiceID = svc.GivenID
	return scope, nil
}

// EnvironmentOfService is the environment a live service belongs to.
func (s *Service) EnvironmentOfService(ctx context.Context, serviceID string) (int64, error) {
	svc, err := s.Store.GetService(ctx, store.GetServiceParams{ID: serviceID})
	if err != nil {
		return 0, notFound(err, "Service not found")
	}
	return svc.EnvironmentID, nil
}

// notFound turns the store's ErrNotFound into a NotFound failure saying msg.
func notFound(err error, msg string) error {
	if errors.Is(err, store.ErrNotFound) || fail.KindOf(err) == fail.NotFound {
		return fail.Wrap(fail.NotFound, err, msg)
	}
	return err
}
