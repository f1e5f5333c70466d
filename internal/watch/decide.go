package watch

import (
	"fmt"
	"strings"
)

// Service is what the decision needs to know about one service.
type Service struct {
	ID         string   // the service's given id
	WatchPaths []string // empty: every change deploys it
	// Base is the commit of its last successful deployment in this
	// environment or preview instance; "" when it never deployed there.
	Base string
	// BaseMissing: the base commit is no longer in the repository (history
	// was rewritten), so what changed since is unknown.
	BaseMissing bool
	// ConfigChanged: its own configuration changed since its last success.
	ConfigChanged bool
	// Changes are the files changed between Base and the target commit. It
	// may be nil only when Base is "" or BaseMissing, and may be shared by
	// services with the same Base.
	Changes *ChangeSet
}

// Decision says whether one service deploys and why.
type Decision struct {
	ServiceID string
	Deploy    bool // false: the service ends NO_CHANGE
	// Reason is a short sentence for people, shown as the service
	// deployment's reason, e.g. "matched apps/api/** (3 files)".
	Reason string
	// Matched is the number of changed files its watchPaths matched when
	// that decided the deployment; 0 when another reason did.
	Matched int
}

// Decide returns one Decision per service, in the same order (the rules
// docs/deployments.md gives under Watch paths). A service deploys, for the first of these reasons that holds: force;
// it has no watchPaths; it never deployed here; its base commit is no longer
// in the repository; its own configuration changed; a changed path is
// watched. Otherwise it does not.
//
// Every service's watchPaths are compiled, whatever decides it, so an
// invalid pattern is always an error (wrapping a *PatternError). So is a
// service that needs its change set and has none (Changes nil with Base set
// and not BaseMissing): deciding NO_CHANGE without knowing what changed
// would silently skip a deployment.
func Decide(force bool, services []Service) ([]Decision, error) {
	matchers := make([]*Matcher, len(services))
	// Services diffed against the same base share a change set, and often
	// globs ("libs/**"): those are matched once per change set.
	shared := map[*ChangeSet]*sharedMatches{}
	for k := range services {
		s := &services[k]
		m, err := Compile(s.WatchPaths)
		if err != nil {
			return nil, fmt.Errorf("service %q: %w", s.ID, err)
		}
		matchers[k] = m
		if s.Changes == nil {
			continue
		}
		sm := shared[s.Changes]
		if sm == nil {
			sm = &sharedMatches{uses: map[string]int{}, byGlob: map[string][]int32{}}
			shared[s.Changes] = sm
		}
		for _, g := range m.globs() {
			sm.uses[g]++
		}
	}
	decisions := make([]Decision, len(services))
	var buf []int32 // reused across services
	for k := range services {
		s, m := &services[k], matchers[k]
		d := Decision{ServiceID: s.ID, Deploy: true}
		switch {
		case force:
			d.Reason = "forced (force=true)"
		case len(s.WatchPaths) == 0:
			d.Reason = "no watchPaths: every change deploys it"
		case s.Base == "":
			d.Reason = "first deployment here"
		case s.BaseMissing:
			d.Reason = fmt.Sprintf("base commit %s is no longer in the repository", short(s.Base))
		case s.ConfigChanged:
			d.Reason = "its configuration changed"
		case s.Changes == nil:
			return nil, fmt.Errorf("service %q: no change set since base commit %s", s.ID, short(s.Base))
		default:
			buf = m.decideChanges(&d, s.Changes, s.Base, buf, shared[s.Changes])
		}
		decisions[k] = d
	}
	return decisions, nil
}

// decideChanges fills d from the change set and returns the buffer it used.
func (m *Matcher) decideChanges(d *Decision, cs *ChangeSet, base string, buf []int32, shared *sharedMatches) []int32 {
	paths := cs.sorted()
	if len(paths) == 0 {
		d.Deploy = false
		d.Reason = "no files changed since " + short(base)
		return buf
	}
	counts := make([]int, len(m.patterns))
	buf = m.decide(paths, buf, counts, shared)
	for i, n := range counts {
		if !m.patterns[i].exclude {
			d.Matched += n
		}
	}
	if d.Matched == 0 {
		d.Deploy = false
		d.Reason = fmt.Sprintf("no change matches its watchPaths (%s changed since %s)", files(len(paths)), short(base))
		return buf
	}
	var b strings.Builder
	b.WriteString("matched ")
	sep := ""
	for i, n := range counts {
		if n > 0 && !m.patterns[i].exclude {
			fmt.Fprintf(&b, "%s%s (%s)", sep, m.patterns[i].text, files(n))
			sep = ", "
		}
	}
	d.Reason = b.String()
	return buf
}

// short abbreviates a commit id to the 7 characters git shows by default.
func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

func files(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}
