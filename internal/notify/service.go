package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Sink is a destination the server wires in besides the environments'
// webhooks (see the package doc).
type Sink interface {
	Deliver(ctx context.Context, e Event) error
}

// ErrPermanent, wrapped in a Sink's error, gives the event up at once.
var ErrPermanent = errors.New("permanent failure")

// Defaults of Config.
const (
	DefaultPoll        = time.Second
	DefaultRetryBase   = 10 * time.Second
	DefaultRetryMax    = time.Hour
	DefaultGiveUpAfter = 24 * time.Hour
	DefaultTimeout     = 10 * time.Second
	DefaultWorkers     = 4
)

// sinkPrefix starts a sink's destination in the store.
const sinkPrefix = "sink:"

// Config configures a Service.
type Config struct {
	Store store.Store
	// Keys seals and opens the endpoints' secrets. Required.
	Keys *secretbox.Keyring
	// NodeID names this replica in delivery leases. Required.
	NodeID string
	// Sinks are the destinations besides webhooks, by name.
	Sinks map[string]Sink
	// AllowPrivate lets webhooks reach loopback, link-local, private,
	// unspecified and multicast addresses.
	AllowPrivate bool
	// PublicURL is where Liftoff's dashboard is, for the links of Slack
	// messages and bodies; empty: no links.
	PublicURL string
	Log       *slog.Logger
	// Now is the clock of events, leases and retries. Default time.Now.
	Now func() time.Time
	// NewID makes endpoint ids. Required to create endpoints.
	NewID func() string
	// Poll is how often Run looks for untold deployments and due
	// deliveries. Default DefaultPoll.
	Poll time.Duration
	// RetryBase and RetryMax bound the backoff between attempts;
	// GiveUpAfter is how long after an event its delivery is tried.
	RetryBase, RetryMax, GiveUpAfter time.Duration
	// Timeout bounds one webhook request. Default DefaultTimeout.
	Timeout time.Duration
	// Workers deliver at once in Run. Default DefaultWorkers.
	Workers int
	// Client sends webhooks. Default: NewClient(AllowPrivate, Timeout).
	Client *http.Client
}

// Service derives events and delivers them (see the package doc), and
// keeps the environments' webhooks for the API. Make it with New.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.NodeID == "" {
		return nil, errors.New("notify.New: Store, Keys and NodeID are required")
	}
	for name := range cfg.Sinks {
		if name == "" || strings.ContainsAny(name, ":/ ") {
			return nil, fmt.Errorf("notify.New: sink name %q: use letters, digits and '-'", name)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Poll = orDefault(cfg.Poll, DefaultPoll)
	cfg.RetryBase = orDefault(cfg.RetryBase, DefaultRetryBase)
	cfg.RetryMax = orDefault(cfg.RetryMax, DefaultRetryMax)
	cfg.GiveUpAfter = orDefault(cfg.GiveUpAfter, DefaultGiveUpAfter)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.AllowPrivate, cfg.Timeout)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, log: cfg.Log}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run derives and delivers until ctx ends, every Config.Poll. Errors are
// logged, and tried again at the next poll.
func (s *Service) Run(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.Poll)
	defer ticker.Stop()
	for {
		if _, err := s.Scan(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("notifications: derive events", "err", err)
		}
		var wg sync.WaitGroup
		for range s.cfg.Workers {
			wg.Go(func() {
				if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("notifications: deliver", "err", err)
				}
			})
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// scanBatch bounds the deployments one Scan reads.
const scanBatch = 200

// Scan records the events of the deployments whose told stage lags their
// state, and returns how many it recorded (another replica may have
// recorded the others).
func (s *Service) Scan(ctx context.Context) (int, error) {
	untold, err := s.cfg.Store.UntoldDeployments(ctx, store.UntoldDeploymentsParams{Limit: scanBatch})
	if err != nil {
		return 0, err
	}
	sinks := make([]string, 0, len(s.cfg.Sinks))
	for name := range s.cfg.Sinks {
		sinks = append(sinks, sinkPrefix+name)
	}
	synced := map[int64]bool{}
	recorded := 0
	for _, u := range untold {
		d := u.Deployment
		if !synced[d.EnvironmentID] {
			synced[d.EnvironmentID] = true
			// The endpoints declared in the config hear the events
			// recorded from now on.
			if err := s.syncConfig(ctx, d.EnvironmentID); err != nil {
				s.log.Error("notifications: the webhooks of liftoff.json", "environment", d.EnvironmentID, "err", err)
			}
		}
		events, told := missing(u)
		n, err := s.cfg.Store.RecordDeploymentEvents(ctx, store.RecordDeploymentEventsParams{DeploymentID: d.ID,
			EnvironmentID: d.EnvironmentID, Events: events, Told: told, Sinks: sinks, At: s.cfg.Now()})
		if err != nil {
			return recorded, err
		}
		recorded += n
	}
	return recorded, nil
}

// missing lists the events of u not told yet, in order, and the told
// stage after them.
func missing(u store.UntoldDeployment) ([]store.DeploymentEvent, int) {
	d, told := u.Deployment, u.Told
	var out []store.DeploymentEvent
	add := func(typ string, seq int, at time.Time) {
		out = append(out, store.DeploymentEvent{ID: EventID(d.ID, typ), Type: typ, Seq: seq, At: at})
	}
	if told < 1 {
		add(EventCreated, 0, d.CreatedAt)
		told = 1
	}
	if told < 2 && !d.StartedAt.IsZero() {
		add(EventStarted, 1, d.StartedAt)
		told = 2
	}
	if told < 3 && d.Status.Final() {
		at := d.FinishedAt
		if at.IsZero() {
			at = d.CreatedAt
		}
		add(FinalType(d.Status), 2, at)
		told = 3
	}
	return out, told
}

// FinalType is the event type a final status is told as.
func FinalType(s liftoff.Status) string {
	switch s {
	case liftoff.StatusSuccess:
		return EventSucceeded
	case liftoff.StatusCancelled:
		return EventCancelled
	case liftoff.StatusNoChange:
		return EventNoChange
	}
	return EventFailed
}

// DeliverDue tries the deliveries due now, one after another, until none
// is due, and returns how many it tried.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	tried := 0
	for ctx.Err() == nil {
		now := s.cfg.Now()
		// The lease outlasts an attempt: the request's timeout, and
		// reading what it needs from the store.
		d, err := s.cfg.Store.ClaimNotificationDelivery(ctx, store.ClaimNotificationDeliveryParams{Owner: s.cfg.NodeID, At: now,
			LeaseUntil: now.Add(s.cfg.Timeout + time.Minute)})
		if errors.Is(err, store.ErrNotFound) {
			return tried, nil
		}
		if err != nil {
			return tried, err
		}
		tried++
		if err := s.attempt(ctx, d); err != nil {
			return tried, err
		}
	}
	return tried, ctx.Err()
}

// attempt tries one delivery and records how it went.
func (s *Service) attempt(ctx context.Context, d liftoff.NotificationDelivery) error {
	status, err := s.send(ctx, d)
	now := s.cfg.Now()
	fin := store.FinishNotificationDeliveryParams{Destination: d.Destination, EventID: d.EventID, Owner: s.cfg.NodeID,
		Status: status, At: now, State: liftoff.DeliveryDelivered}
	log := s.log.With("destination", d.Destination, "event", d.EventID, "attempt", d.Attempts)
	if err != nil {
		fin.Error = err.Error()
		wait := s.backoff(d.Attempts)
		// A sink that was told when to come back (GitHub's Retry-After,
		// its rate limit's reset) is not called sooner.
		var later interface{ RetryAfter() time.Duration }
		if errors.As(err, &later) {
			wait = max(wait, later.RetryAfter())
		}
		fin.NextAttemptAt = now.Add(wait)
		switch {
		case errors.Is(err, ErrPermanent), errors.Is(err, errGone):
			fin.State = liftoff.DeliveryFailed
		case fin.NextAttemptAt.After(d.CreatedAt.Add(s.cfg.GiveUpAfter)):
			fin.State = liftoff.DeliveryFailed
			fin.Error += fmt.Sprintf(" (given up after %d attempts over %s)", d.Attempts, s.cfg.GiveUpAfter)
		default:
			fin.State = liftoff.DeliveryPending
		}
		log.Warn("notification not delivered", "status", status, "err", err, "state", fin.State, "next", fin.NextAttemptAt)
	} else {
		log.Debug("notification delivered", "status", status)
	}
	// Detached: an attempt made is recorded even when Run is stopping.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.FinishNotificationDelivery(fctx, fin); err != nil {
		return err
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt: RetryBase
// doubled each time up to RetryMax, less a random part of up to a half
// (replicas and receivers back up in step no more).
func (s *Service) backoff(attempt int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < attempt && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/2+1))
}

// errGone: the delivery's destination or deployment is no more.
var errGone = errors.New("gone")

// send makes one attempt of d; status is the receiver's HTTP status (0
// when none).
func (s *Service) send(ctx context.Context, d liftoff.NotificationDelivery) (int, error) {
	ev, err := s.event(ctx, d)
	if err != nil {
		return 0, err
	}
	if name, ok := strings.CutPrefix(d.Destination, sinkPrefix); ok {
		sink := s.cfg.Sinks[name]
		if sink == nil {
			return 0, fmt.Errorf("this replica has no %s sink: start every replica with the same notification settings", name)
		}
		return 0, sink.Deliver(ctx, ev)
	}
	ep, err := s.cfg.Store.GetNotificationEndpoint(ctx, store.GetNotificationEndpointParams{ID: d.Destination})
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("%w: the endpoint was deleted", errGone)
	}
	if err != nil {
		return 0, err
	}
	return s.post(ctx, ep, ev)
}

// event reads the event d carries: its deployment as it is now, with its
// project and environment.
func (s *Service) event(ctx context.Context, d liftoff.NotificationDelivery) (Event, error) {
	dep, err := s.cfg.Store.GetDeployment(ctx, store.GetDeploymentParams{ID: d.DeploymentID})
	if errors.Is(err, store.ErrNotFound) {
		return Event{}, fmt.Errorf("%w: deployment %s is no more", errGone, d.DeploymentID)
	}
	if err != nil {
		return Event{}, err
	}
	p, err := s.cfg.Store.GetProject(ctx, store.GetProjectParams{ID: dep.ProjectID})
	if errors.Is(err, store.ErrNotFound) {
		return Event{}, fmt.Errorf("%w: project %s is no more", errGone, dep.ProjectID)
	}
	if err != nil {
		return Event{}, err
	}
	env, err := s.cfg.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: dep.EnvironmentID})
	if err != nil {
		return Event{}, err
	}
	return Event{ID: d.EventID, Type: d.EventType, At: d.EventAt, Deployment: dep, Project: p, Environment: env}, nil
}
