package engine

import (
	"sort"
	"strconv"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/steps"
)

// environ is a service's environment: the process basics
// (PATH, HOME ...), then the config's variables merged root, environment,
// service, then what the engine sets, which wins. withPort adds PORT (the
// config's port) for build and deploy commands; the local target sets PORT
// itself for the running release.
func (r *deployment) environ(svc config.Service, hosts []string, withPort bool) []string {
	env := steps.BaseEnv()
	merged := config.MergeEnv(r.file.EnvVariables, r.envCfg.EnvVariables, svc.EnvVariables)
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
