package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/resources"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/variables"
)

// environ is a service's environment: the process basics
// (PATH, HOME ...), then its variables (vars, resolved by package
// variables), then what the engine sets, which wins. withPort adds PORT
// (the config's port) for build and deploy commands; the local target sets
// PORT itself for the running release.
func (r *deployment) environ(svc config.Service, hosts []string, merged map[string]string, withPort bool) []string {
	env := steps.BaseEnv()
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+merged[k])
	}
	branch := r.d.GitBranch
	url := r.targetOf(svc).Domain(svc, hosts)
	env = append(env,
		"CI=true",
		"LIFTOFF_GIT_COMMIT_SHA="+r.commit,
		"LIFTOFF_GIT_BRANCH="+branch,
		"LIFTOFF_DEPLOYMENT_ID="+r.d.ID,
		"LIFTOFF_ENV_ID="+r.env.GivenID,
		"LIFTOFF_SERVICE_ID="+svc.ID,
		"LIFTOFF_URL="+url,
		"FC_GIT_COMMIT_SHA="+r.commit,
		"FC_GIT_BRANCH="+branch,
		"FC_URL="+url,
	)
	if r.d.PRNumber > 0 {
		env = append(env, "LIFTOFF_PR_NUMBER="+strconv.Itoa(r.d.PRNumber))
	}
	if withPort {
		env = append(env, "PORT="+strconv.Itoa(svc.Port))
	}
	return env
}

// resolveVariables resolves the variables of every service Liftoff runs in
// the environment: the API's and the config file's, references included.
// hosts are the runnable services' host names, in their order. A
// reference that cannot be resolved fails the deployment before any build.
func (r *deployment) resolveVariables(ctx context.Context, runnable []config.Service, hosts [][]string, made map[string]resources.Resource) ([]variables.Resolved, error) {
	snap, err := r.e.Variables.Load(ctx, r.env)
	if err != nil {
		return nil, err
	}
	addrs, err := r.addresses(ctx, runnable, hosts)
	if err != nil {
		return nil, err
	}
	for id, res := range made {
		port, _ := strconv.Atoi(res.Values["port"])
		addrs[id] = variables.Address{Type: addrs[id].Type, Host: res.Values["host"], Port: port, Values: res.Values, Secret: res.Secret,
			Env: res.Env, Version: res.ID}
	}
	out := make([]variables.Resolved, len(runnable))
	for i, s := range runnable {
		if out[i], err = r.resolveOne(snap, addrs, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addresses are the environment's services as fromService sees them. A
// web-private service on a target with internal addresses is read at its
// internal port (processes and containers each at theirs); a web service
// at the URL people reach.
func (r *deployment) addresses(ctx context.Context, runnable []config.Service, hosts [][]string) (map[string]variables.Address, error) {
	addrs := make(map[string]variables.Address, len(r.envCfg.Services))
	for _, s := range r.envCfg.Services {
		addrs[s.ID] = variables.Address{Type: s.Type}
	}
	for i, s := range runnable {
		t := r.targetOf(s)
		origin := t.Domain(s, hosts[i])
		a := variables.Address{Runs: true, Type: s.Type, Origin: origin, Host: hostOf(origin), Port: s.Port}
		if in, ok := t.(target.Internal); ok && s.Type == config.TypeWebPrivate {
			ep, err := in.InternalAddress(ctx, r.inst, s)
			if err != nil {
				return nil, err
			}
			port := strconv.Itoa(ep.Port)
			a.Port, a.Host = ep.Port, net.JoinHostPort(ep.Host, port)
			a.Origin = "http://" + a.Host
			if ep.ContainerHost != "" {
				a.ContainerHost = net.JoinHostPort(ep.ContainerHost, port)
				a.ContainerOrigin = "http://" + a.ContainerHost
			}
			a.ContainerErr = ep.ContainerErr
		}
		addrs[s.ID] = a
	}
	return addrs, nil
}

// resolveOne resolves one service's variables; an error the variables or
// the file can fix is the deployment's failure.
func (r *deployment) resolveOne(snap *variables.Snapshot, addrs map[string]variables.Address, s config.Service) (variables.Resolved, error) {
	res, err := snap.Resolve(variables.Input{ServiceID: s.ID, Services: addrs, Container: s.RunsAsContainer(),
		File: []config.EnvVars{r.file.EnvVariables, r.envCfg.EnvVariables, s.EnvVariables}})
	if errors.Is(err, variables.ErrUnresolved) {
		return res, fail(liftoff.StatusError, "%s", err.Error())
	}
	return res, err
}

// hostOf is the host[:port] of an origin ("http://api.localhost:8080").
func hostOf(origin string) string {
	if _, rest, ok := strings.Cut(origin, "://"); ok {
		return rest
	}
	return origin
}

// fingerprint is a service's config fingerprint, with the digest of the
// variables it reads through the API when it reads any (services that
// read none keep the fingerprints they had before such variables existed).
//
// A service that leaves its target to the operator is fingerprinted on
// the target it releases to: with --kube-default, as a kubernetes one,
// so that what only the cluster reads (minInstances) counts, and turning
// the default on or off deploys it again where it now runs.
func (r *deployment) fingerprint(s config.Service, vars variables.Resolved) string {
	if s.Target.IsDefault() && r.e.onKube(s) {
		s.Target.Type = config.TargetKubernetes
	}
	fp := s.Fingerprint(r.file.EnvVariables, r.envCfg.EnvVariables)
	if vars.Digest == "" {
		return fp
	}
	sum := sha256.Sum256([]byte(fp + "\x00" + vars.Digest))
	return hex.EncodeToString(sum[:])
}
