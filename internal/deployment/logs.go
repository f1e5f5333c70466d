package deployment

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Output tells log readers when output was stored: internal/logstream's
// Streams, which stores it. Readers that follow a running deployment wait
// on it rather than read the store in a tight loop.
type Output interface {
	// Await calls cond each time this replica stores output, and at least
	// every poll (default 1s, for what other replicas store), until cond
	// returns true, fails, or ctx ends.
	Await(ctx context.Context, poll time.Duration, cond func(ctx context.Context) (bool, error)) error
}

// EngineLines is the label of a deployment's own lines (the engine's), and
// the Service of LogsParams that selects only them.
const EngineLines = "deploy"

// logsPage is how many lines one read of the store returns.
const logsPage = 1000

// LogsParams select the output of a deployment.
type LogsParams struct {
	// Service is "" for every line, EngineLines for the deployment's own,
	// or a service's given id for that service's.
	Service string
	// Follow reads on as lines are stored, until the deployment ends.
	Follow bool
	// AfterID resumes after the line with this id.
	AfterID int64
}

// LogLine is a line of a deployment's output and who wrote it.
type LogLine struct {
	ID int64
	// Label is EngineLines or the given id of the service that wrote it.
	Label string
	Text  string
}

// Logs reads the output of one deployment (see OpenLogs).
type Logs struct {
	s      *Service
	d      liftoff.Deployment
	p      LogsParams
	labels *lineLabels
	// serviceDeploymentID is the service deployment p.Service names, ""
	// for every line.
	serviceDeploymentID string
}

// OpenLogs checks that p selects output of deployment d, before a reader
// starts to answer. Right after a hook call a deployment has not decided
// its services yet: following a service it does not have yet waits until
// it has decided them (or has ended). NotFound when it has no such service.
func (s *Service) OpenLogs(ctx context.Context, d liftoff.Deployment, p LogsParams) (*Logs, error) {
	byService := p.Service != "" && p.Service != EngineLines
	if p.Follow && byService && !hasService(d, p.Service) && !planned(d) {
		var err error
		if d, err = s.awaitPlan(ctx, d); err != nil {
			return nil, err
		}
	}
	l := &Logs{s: s, d: d, p: p, labels: newLineLabels(d)}
	if !byService {
		return l, nil
	}
	for _, sd := range d.Services {
		if sd.ServiceGivenID == p.Service {
			l.serviceDeploymentID = sd.ID
		}
	}
	if l.serviceDeploymentID == "" {
		msg := fmt.Sprintf("Deployment %s has no service %s", d.ID, quoteShort(p.Service))
		if !planned(d) {
			msg += fmt.Sprintf(" yet: it is %s and decides its services when it starts; follow its logs (follow=true) to wait for them", d.Status)
		}
		return nil, fail.New(fail.NotFound, msg)
	}
	return l, nil
}

// Read calls emit with the lines, in order, in batches (some perhaps
// empty). Without Follow it returns once every stored line was emitted;
// with it, once the deployment has ended and its last lines were emitted,
// or ctx ends.
func (l *Logs) Read(ctx context.Context, emit func([]LogLine) error) error {
	after := l.p.AfterID
	// readOn reads what was stored after the last line emitted and reports
	// whether that was the last of it; the end is checked before reading,
	// so lines stored before the end are read.
	readOn := func(ctx context.Context) (bool, error) {
		ended, err := l.ended(ctx)
		if err != nil {
			return false, err
		}
		for {
			lines, err := l.s.Store.ListLogs(ctx, store.ListLogsParams{DeploymentID: l.d.ID,
				ServiceDeploymentID: l.serviceDeploymentID, AfterID: after, Limit: logsPage})
			if err != nil {
				return false, err
			}
			if len(lines) == 0 {
				return ended, nil
			}
			after = lines[len(lines)-1].ID
			if err := emit(l.label(ctx, lines)); err != nil {
				return false, err
			}
		}
	}
	if !l.p.Follow {
		_, err := readOn(ctx)
		return err
	}
	return l.s.output().Await(ctx, 0, readOn)
}

// Deployment returns the deployment as last read: after a followed Read,
// as it ended.
func (l *Logs) Deployment() liftoff.Deployment { return l.d }

// ended reports whether the deployment has ended; without Follow, the
// output stored so far is all there is to read.
func (l *Logs) ended(ctx context.Context) (bool, error) {
	if !l.p.Follow {
		return true, nil
	}
	cur, err := l.s.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: l.d.ID})
	if err != nil {
		return false, err
	}
	l.d = cur
	l.labels.learn(cur)
	return cur.Status.Final(), nil
}

// label names the lines of the store, keeping only the engine's when the
// reader asked for them alone.
func (l *Logs) label(ctx context.Context, lines []liftoff.LogLine) []LogLine {
	out := make([]LogLine, 0, len(lines))
	for _, line := range lines {
		if l.p.Service == EngineLines && line.ServiceDeploymentID != "" {
			continue
		}
		out = append(out, LogLine{ID: line.ID, Label: l.labels.of(ctx, l.s.Store, line.ServiceDeploymentID), Text: line.Text})
	}
	return out
}

// output is the Service's Output, or one that reads the store every
// second when none was given.
func (s *Service) output() Output {
	if s.Output != nil {
		return s.Output
	}
	return polling{}
}

// polling is an Output that knows of no output stored: readers read the
// store every poll.
type polling struct{}

func (polling) Await(ctx context.Context, poll time.Duration, cond func(ctx context.Context) (bool, error)) error {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		done, err := cond(ctx)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// awaitPlan waits until a deployment has decided its services or has
// ended, checking when output is stored and at least every second.
func (s *Service) awaitPlan(ctx context.Context, d liftoff.Deployment) (liftoff.Deployment, error) {
	err := s.output().Await(ctx, 0, func(ctx context.Context) (bool, error) {
		cur, err := s.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
		if err != nil {
			return false, err
		}
		d = cur
		return planned(cur), nil
	})
	return d, err
}

// planned reports whether a deployment has decided its services: every
// service deployment it will have exists.
func planned(d liftoff.Deployment) bool {
	return d.Status != liftoff.StatusPending && d.Status != liftoff.StatusInProgress
}

func hasService(d liftoff.Deployment, givenID string) bool {
	return slices.ContainsFunc(d.Services, func(s liftoff.ServiceDeployment) bool { return s.ServiceGivenID == givenID })
}

// lineLabels name the lines of a deployment's output: EngineLines for the
// engine's own, each service's given id for its own. A reader may start
// before the deployment has its service deployments, so an id it has not
// seen sends it back to the store once (the engine stores a service
// deployment before any of its lines).
type lineLabels struct {
	deploymentID string
	names        map[string]string // service deployment id -> label
}

func newLineLabels(d liftoff.Deployment) *lineLabels {
	l := &lineLabels{deploymentID: d.ID, names: map[string]string{}}
	l.learn(d)
	return l
}

func (l *lineLabels) learn(d liftoff.Deployment) {
	for _, s := range d.Services {
		l.names[s.ID] = s.ServiceGivenID
	}
}

func (l *lineLabels) of(ctx context.Context, st store.DeploymentQueries, serviceDeploymentID string) string {
	if serviceDeploymentID == "" {
		return EngineLines
	}
	if name, ok := l.names[serviceDeploymentID]; ok {
		return name
	}
	if d, err := st.GetDeployment(ctx, store.GetDeploymentParams{ID: l.deploymentID}); err == nil {
		l.learn(d)
	}
	if _, ok := l.names[serviceDeploymentID]; !ok {
		// Not one of the deployment's services: say so once, not a read
		// per line.
		l.names[serviceDeploymentID] = "service " + serviceDeploymentID
	}
	return l.names[serviceDeploymentID]
}

// quoteShort quotes a caller's input for a message, cut to a readable
// length (as the API quotes what it is sent).
func quoteShort(s string) string {
	const most = 48
	if len(s) > most {
		return strconv.Quote(s[:most]) + "…"
	}
	return strconv.Quote(s)
}
