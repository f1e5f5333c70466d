package variables

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// ErrUnresolved is the cause of every error of Resolve that the variables
// or the config file can fix; its message says how.
var ErrUnresolved = errors.New("a variable cannot be resolved")

// unresolved is an Invalid error caused by ErrUnresolved.
func unresolved(format string, args ...any) error {
	return fail.Wrap(fail.Invalid, ErrUnresolved, fmt.Sprintf(format, args...))
}

// Snapshot is what one deployment resolves from: the variables and named
// secrets of a project and one of its environments, read once.
type Snapshot struct {
	s       *Service
	env     liftoff.Environment
	vars    []liftoff.Variable
	secrets []liftoff.Secret
}

// Load reads the variables and named secrets env's services resolve from.
func (s *Service) Load(ctx context.Context, env liftoff.Environment) (*Snapshot, error) {
	scope := store.ListVariablesParams{ProjectID: env.ProjectID, EnvironmentIDs: []int64{0, env.ID}}
	vars, err := s.Store.ListVariables(ctx, scope)
	if err != nil {
		return nil, err
	}
	secrets, err := s.Store.ListSecrets(ctx, scope)
	if err != nil {
		return nil, err
	}
	return &Snapshot{s: s, env: env, vars: vars, secrets: secrets}, nil
}

// Address is where a service of the environment answers, for fromService:
// Runs is false for a service Liftoff does not run (a database). Host and
// Origin are empty for a service that has no address (a worker, a service
// on the command target). ContainerHost and ContainerOrigin, when set, are
// where services running in containers reach it instead (a private
// service's internal port); ContainerErr says why containers cannot.
type Address struct {
	Runs   bool
	Type   string
	Host   string // "api.production.localhost:8080", "127.0.0.1:41234"
	Origin string // "http://api.production.localhost:8080"
	Port   int

	ContainerHost   string // "10.88.0.1:41234"
	ContainerOrigin string
	ContainerErr    error

	// Values, for a managed resource (a database, a Redis user), are
	// what fromService reads of it by name (dbConnectionString, host,
	// password ...); Secret names those that must not be shown. Env are
	// variables a service that reads it gets besides, unless it sets
	// them itself (LIFTOFF_REDIS_PREFIX). Version changes when the
	// resource is made anew, so that its readers deploy again.
	Values  map[string]string
	Secret  map[string]bool
	Env     map[string]string
	Version string
}

// Input is what Resolve needs of one service.
type Input struct {
	// ServiceID is the service's given id.
	ServiceID string
	// File are the config file's envVariables: root, environment, service.
	File []config.EnvVars
	// Services are the environment's services by given id.
	Services map[string]Address
	// Container says the service runs in a container: it reads the
	// container addresses of the others where they have them.
	Container bool
}

// Resolved is a service's environment from its variables.
type Resolved struct {
	// Env are the variables and their values.
	Env map[string]string
	// Secrets are the values that must not be shown: every secret's and
	// named secret's, and the operator-set values of fromService.
	Secrets []string
	// SecretNames are the variables whose values are among Secrets.
	SecretNames map[string]bool
	// Digest changes whenever a variable or secret the service reads
	// through the API changes (or is sealed again); "" when it reads none,
	// so that services without such variables keep their fingerprints.
	Digest string
}

// Resolve returns the environment of one service: the API's variables of
// the project, the environment and the service (the narrower wins), then
// the config file's, which win. A reference that cannot be resolved fails
// it with a message naming the variable, the service and the command that
// fixes it.
func (sn *Snapshot) Resolve(in Input) (Resolved, error) {
	r := &resolution{sn: sn, in: in, out: Resolved{Env: map[string]string{}, SecretNames: map[string]bool{}}, digest: sha256.New()}
	for _, level := range []struct {
		env     int64
		service string
	}{{0, ""}, {sn.env.ID, ""}, {sn.env.ID, in.ServiceID}} {
		for _, v := range sn.vars {
			if v.EnvironmentID != level.env || v.ServiceID != level.service {
				continue
			}
			if level.env == 0 && v.ServiceID != "" {
				continue
			}
			r.note("variable", v.Name, string(v.Kind), strconv.FormatInt(v.EnvironmentID, 10), v.ServiceID, v.Value, v.KeyID, hex.EncodeToString(v.Sealed))
			before := len(r.out.Secrets)
			value, err := r.variable(v)
			if err != nil {
				return Resolved{}, err
			}
			r.out.Env[v.Name], r.out.SecretNames[v.Name] = value, len(r.out.Secrets) > before
		}
	}
	for _, level := range in.File {
		for _, name := range sortedKeys(level) {
			v := level[name]
			before := len(r.out.Secrets)
			value, err := r.fileValue(name, v)
			if err != nil {
				return Resolved{}, err
			}
			r.out.Env[name], r.out.SecretNames[name] = value, len(r.out.Secrets) > before
		}
	}
	for _, name := range sortedKeys(r.implied) {
		if _, set := r.out.Env[name]; !set {
			r.out.Env[name] = r.implied[name]
		}
	}
	if r.used {
		r.out.Digest = hex.EncodeToString(r.digest.Sum(nil))
	}
	return r.out, nil
}

type resolution struct {
	sn     *Snapshot
	in     Input
	out    Resolved
	digest hash.Hash
	used   bool
	// implied are the variables the resources it reads give besides.
	implied map[string]string
}

// note adds a stored row the service reads to the digest.
func (r *resolution) note(fields ...string) {
	r.used = true
	for _, f := range fields {
		_, _ = r.digest.Write([]byte(strconv.Itoa(len(f)) + ":" + f))
	}
}

// variable is the value of a variable set through the API.
func (r *resolution) variable(v liftoff.Variable) (string, error) {
	switch v.Kind {
	case liftoff.VariablePlainText:
		return v.Value, nil
	case liftoff.VariableSecret:
		plain, err := r.sn.s.Keys.Open(v.KeyID, v.Sealed, variableAAD(v))
		if err != nil {
			return "", unresolved("variable %s of service %s could not be decrypted: %v", v.Name, r.in.ServiceID, err)
		}
		r.out.Secrets = append(r.out.Secrets, string(plain))
		return string(plain), nil
	case liftoff.VariableFromParameterStore, liftoff.VariableFromSecretsManager:
		return r.named(v.Name, v.Value)
	case liftoff.VariableFromService:
		var ref ServiceRef
		if err := json.Unmarshal([]byte(v.Value), &ref); err != nil {
			return "", unresolved("variable %s: the stored fromService reference %q is not {\"id\", \"value\"}: set it again", v.Name, v.Value)
		}
		return r.service(v.Name, ref)
	}
	return "", unresolved("variable %s has kind %q, which this Liftoff does not know", v.Name, v.Kind)
}

// fileValue is the value of a config file variable.
func (r *resolution) fileValue(name string, v config.EnvValue) (string, error) {
	if v.From != "" {
		// The fingerprint skips references: a changed one is a change.
		r.note("file", name, v.From, string(v.Ref))
	}
	switch v.From {
	case "":
		return v.Value, nil
	case "fromParameterStore", "fromSecretsManager":
		var secret string
		if err := json.Unmarshal(v.Ref, &secret); err != nil || checkSecretName(secret) != "" {
			return "", unresolved(`variable %s of service %s: {%q: ...} takes the name of a secret, a string`, name, r.in.ServiceID, v.From)
		}
		return r.named(name, secret)
	case "fromService":
		var ref ServiceRef
		if err := json.Unmarshal(v.Ref, &ref); err != nil || ref.ID == "" || ref.Value == "" {
			return "", unresolved(`variable %s of service %s: {"fromService": ...} takes {"id": "<service>", "value": "<what to read>"}`, name, r.in.ServiceID)
		}
		return r.service(name, ref)
	}
	return "", unresolved("variable %s of service %s: its value is neither a string, a number, a boolean nor a fromParameterStore, fromSecretsManager or fromService reference", name, r.in.ServiceID)
}

// lookup finds the named secret of the environment, else of the project.
func (r *resolution) lookup(name string) (liftoff.Secret, bool) {
	var found liftoff.Secret
	ok := false
	for _, s := range r.sn.secrets {
		if s.Name == name && (s.EnvironmentID == r.sn.env.ID || (s.EnvironmentID == 0 && !ok)) {
			found, ok = s, true
		}
	}
	return found, ok
}

// open opens a named secret and keeps its value for scrubbing.
func (r *resolution) open(s liftoff.Secret) (string, error) {
	r.note("secret", s.Name, strconv.FormatInt(s.EnvironmentID, 10), s.KeyID, hex.EncodeToString(s.Sealed))
	plain, err := r.sn.s.Keys.Open(s.KeyID, s.Sealed, secretAAD(s))
	if err != nil {
		return "", unresolved("secret %s could not be decrypted: %v", printable(s.Name), err)
	}
	r.out.Secrets = append(r.out.Secrets, string(plain))
	return string(plain), nil
}

// named is the value of variable name read from the named secret secret.
func (r *resolution) named(name, secret string) (string, error) {
	s, ok := r.lookup(secret)
	if !ok {
		return "", unresolved("variable %s of service %s reads the secret %s, which is not set: set it with `%s`",
			name, r.in.ServiceID, printable(secret), r.setCommand(secret))
	}
	return r.open(s)
}

// ServiceValueName is the name of the named secret that gives the value
// ref of a service Liftoff does not run ("db.dbConnectionString"); set
// for a service Liftoff runs, it wins over what Liftoff knows.
func ServiceValueName(ref ServiceRef) string { return ref.ID + "." + ref.Value }

// service is the value of variable name read from another service.
func (r *resolution) service(name string, ref ServiceRef) (string, error) {
	if s, ok := r.lookup(ServiceValueName(ref)); ok {
		return r.open(s)
	}
	addr, known := r.in.Services[ref.ID]
	if !known {
		return "", unresolved("variable %s of service %s reads %s of service %s, which this environment does not have: fix the id, or set the value with `%s`",
			name, r.in.ServiceID, ref.Value, ref.ID, r.setCommand(ServiceValueName(ref)))
	}
	if addr.Values != nil {
		return r.resource(name, ref, addr)
	}
	if !addr.Runs {
		return "", unresolved("variable %s of service %s reads %s of service %s, which Liftoff does not run: set the value with `%s`",
			name, r.in.ServiceID, ref.Value, ref.ID, r.setCommand(ServiceValueName(ref)))
	}
	switch ref.Value {
	case "host", "origin":
		v := addr.Host
		if ref.Value == "origin" {
			v = addr.Origin
		}
		if r.in.Container && addr.ContainerErr != nil && addr.ContainerHost == "" {
			return "", unresolved("variable %s of service %s reads %s of service %s, which containers cannot reach: %v; set the value with `%s`",
				name, r.in.ServiceID, ref.Value, ref.ID, addr.ContainerErr, r.setCommand(ServiceValueName(ref)))
		}
		if r.in.Container && addr.ContainerHost != "" {
			v = addr.ContainerHost
			if ref.Value == "origin" {
				v = addr.ContainerOrigin
			}
		}
		if v == "" {
			return "", unresolved("variable %s of service %s reads %s of service %s, a %s service, which has no address on Liftoff's local target: set the value with `%s`",
				name, r.in.ServiceID, ref.Value, ref.ID, addr.Type, r.setCommand(ServiceValueName(ref)))
		}
		return v, nil
	case "port":
		if addr.Port == 0 {
			return "", unresolved("variable %s of service %s reads port of service %s, which has no port", name, r.in.ServiceID, ref.ID)
		}
		return strconv.Itoa(addr.Port), nil
	}
	return "", unresolved("variable %s of service %s reads %q of service %s: Liftoff gives host, origin and port; set another value with `%s`",
		name, r.in.ServiceID, ref.Value, ref.ID, r.setCommand(ServiceValueName(ref)))
}

// resource is the value of variable name read from a managed resource.
func (r *resolution) resource(name string, ref ServiceRef, addr Address) (string, error) {
	v, ok := addr.Values[ref.Value]
	if !ok {
		return "", unresolved("variable %s of service %s reads %q of service %s, a managed %s: it gives %s; set another value with `%s`",
			name, r.in.ServiceID, ref.Value, ref.ID, addr.Type, strings.Join(sortedKeys(addr.Values), ", "), r.setCommand(ServiceValueName(ref)))
	}
	r.note("resource", ref.ID, ref.Value, addr.Version)
	if addr.Secret[ref.Value] {
		r.out.Secrets = append(r.out.Secrets, v)
	}
	for k, val := range addr.Env {
		if r.implied == nil {
			r.implied = map[string]string{}
		}
		r.implied[k] = val
	}
	return v, nil
}

// setCommand is the CLI command that sets the named secret of this
// environment.
func (r *resolution) setCommand(secret string) string {
	name := secret
	if !nameRule.MatchString(name) && strings.ContainsAny(name, " '\"$`\\") {
		name = strconv.Quote(name)
	}
	return fmt.Sprintf("liftoff secrets set --project %s --env %s %s", r.sn.env.ProjectID, r.sn.env.GivenID, name)
}
