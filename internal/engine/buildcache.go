package engine

import (
	"context"
	"strings"

	"github.com/liftoffhq/liftoff/internal/buildcache"
	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/logstream"
)

// openCache lends the unit's build cache to its build, or returns nil
// when there is none: no cache manager, or one that cannot be lent (said
// in the log; the build runs without it). A preview's cache starts from
// its production environment's. With clearCache it starts empty.
func (r *deployment) openCache(ctx context.Context, u *unit, log *logstream.Writer) *buildcache.Lease {
	m := r.e.BuildCache
	if m == nil {
		return nil
	}
	k := buildcache.Key{Project: r.project.ID, Environment: r.env.GivenID, PR: r.d.PRNumber, Service: u.svc.ID}
	o := buildcache.Options{Clear: r.d.ClearCache, Log: log.Printf}
	if r.d.PRNumber > 0 {
		o.Seed = r.productionCache(u.svc.ID)
	}
	l, err := m.Open(ctx, k, o)
	if err != nil {
		log.Printf("==> Build cache of %s unavailable (%v): building without it", u.svc.ID, err)
		return nil
	}
	return l
}

// saveCache saves what a successful build left in its cache. Nothing it
// does fails the build: a cache that cannot be saved is said in the log.
func saveCache(ctx context.Context, l *buildcache.Lease) {
	if l == nil {
		return
	}
	_ = l.Commit(ctx) // it says why in the log
}

// closeCache ends the build's hold on its cache; a build that did not
// succeed leaves the saved cache as it was.
func closeCache(ctx context.Context, l *buildcache.Lease, err error, log *logstream.Writer) {
	if l == nil {
		return
	}
	switch {
	case err != nil && ctx.Err() != nil:
		log.Printf("==> Build cache of %s not saved: the build was stopped; the saved one stays", l.Key().Service)
	case err != nil:
		log.Printf("==> Build cache of %s not saved: the build did not succeed; the saved one stays. If the cache is to blame, deploy with clearCache (liftoff deploy --clear-cache)",
			l.Key().Service)
	}
	l.Close()
}

// productionCache is the cache a preview's service starts from: the same
// service's in the project's production environment, the normal
// environment that deploys the pull request's base branch (from a GitHub
// event, or the one branch the preview's filter.toBranches names), else
// the one with id production, else the first normal one. Nil when there
// is none, or it has no such service.
func (r *deployment) productionCache(service string) *buildcache.Key {
	var normal []*config.Environment
	for i := range r.file.Environments {
		if e := &r.file.Environments[i]; !e.IsPreview() {
			normal = append(normal, e)
		}
	}
	base := r.d.TriggerDetail.BaseBranch
	if f := r.envCfg.Source.Filter; base == "" && f != nil && len(f.ToBranches) == 1 && !strings.ContainsAny(f.ToBranches[0], "*?[{\\!") {
		base = f.ToBranches[0]
	}
	var prod *config.Environment
	for _, match := range []func(*config.Environment) bool{
		func(e *config.Environment) bool { return base != "" && e.Source.Branch == base },
		func(e *config.Environment) bool { return e.ID == "production" },
		func(*config.Environment) bool { return true },
	} {
		for _, e := range normal {
			if match(e) {
				prod = e
				break
			}
		}
		if prod != nil {
			break
		}
	}
	if prod == nil {
		return nil
	}
	if _, ok := prod.Service(service); !ok {
		return nil
	}
	return &buildcache.Key{Project: r.project.ID, Environment: prod.ID, Service: service}
}
