package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// MaxURL bounds an endpoint's URL.
const MaxURL = 2048

// Spec is what the API gives to make an endpoint.
type Spec struct {
	URL    string
	Events []string
	// Format is json (default) or slack.
	Format string
}

// Created is an endpoint just made or given a new secret: the one time
// its secret is shown.
type Created struct {
	Endpoint liftoff.NotificationEndpoint
	Secret   string
}

// Create makes a webhook of a live environment.
func (s *Service) Create(ctx context.Context, environmentID int64, spec Spec) (Created, error) {
	env, err := s.environment(ctx, environmentID)
	if err != nil {
		return Created{}, err
	}
	spec, err = checkSpec(spec)
	if err != nil {
		return Created{}, err
	}
	if !s.cfg.AllowPrivate {
		if err := reachable(ctx, spec.URL); err != nil {
			return Created{}, err
		}
	}
	if s.cfg.NewID == nil {
		return Created{}, errors.New("notify: Config.NewID is required to make endpoints")
	}
	ep := liftoff.NotificationEndpoint{ID: s.cfg.NewID(), ProjectID: env.ProjectID, EnvironmentID: env.ID, URL: spec.URL, Events: spec.Events,
		Format: spec.Format, Source: liftoff.NotificationFromAPI, CreatedAt: s.cfg.Now()}
	secret, err := s.seal(&ep)
	if err != nil {
		return Created{}, err
	}
	if err := s.cfg.Store.CreateNotificationEndpoint(ctx, ep); err != nil {
		return Created{}, err
	}
	return Created{Endpoint: ep, Secret: secret}, nil
}

// reachable refuses, when the endpoint is made, a URL whose host is, or
// resolves only to, addresses notifications may not reach, so the caller
// learns it at once. A name that does not resolve now is left to the
// delivery, whose dialler checks every address it connects to.
func reachable(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil // checkSpec refused it
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(rctx, "ip", host); err != nil {
			return nil
		}
	}
	var refused error
	for _, a := range addrs {
		if refused = checkAddress(netip.AddrPortFrom(a, 0).String()); refused == nil {
			return nil
		}
	}
	if refused == nil {
		return nil
	}
	return fail.Wrap(fail.Invalid, refused, "url: "+strings.TrimPrefix(refused.Error(), ErrForbiddenAddress.Error()+": "))
}

// checkSpec checks and normalizes what the API or the config gives.
func checkSpec(spec Spec) (Spec, error) {
	u, err := url.Parse(spec.URL)
	switch {
	case spec.URL == "":
		return spec, fail.New(fail.Invalid, "url is required: where to POST the events, http or https")
	case len(spec.URL) > MaxURL:
		return spec, fail.Invalidf("url must have at most %d bytes", MaxURL)
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return spec, fail.New(fail.Invalid, "url must be an absolute http or https URL, such as https://hooks.example.com/liftoff")
	}
	known := config.NotificationEvents()
	var events []string
	for _, e := range spec.Events {
		if !slices.Contains(known, e) {
			return spec, fail.Invalidf("events: unknown event type %q; use %s", printable(e), strings.Join(known, ", "))
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	spec.Events = events
	switch spec.Format {
	case "":
		spec.Format = liftoff.NotificationJSON
	case liftoff.NotificationJSON, liftoff.NotificationSlack:
	default:
		return spec, fail.Invalidf("format must be json or slack, got %q", printable(spec.Format))
	}
	return spec, nil
}

// printable bounds what an error repeats of a caller's text.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// seal gives ep a new secret, sealed, and returns it.
func (s *Service) seal(ep *liftoff.NotificationEndpoint) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	secret := "whsec_" + hex.EncodeToString(b)
	keyID, sealed, err := s.cfg.Keys.Seal([]byte(secret), liftoff.NotificationSecretAAD(ep.ID))
	if err != nil {
		return "", fmt.Errorf("seal the endpoint's secret: %w", err)
	}
	ep.KeyID, ep.Sealed = keyID, sealed
	return secret, nil
}

// List lists a live environment's webhooks, those of liftoff.json
// included.
func (s *Service) List(ctx context.Context, environmentID int64) ([]liftoff.NotificationEndpoint, error) {
	if _, err := s.environment(ctx, environmentID); err != nil {
		return nil, err
	}
	if err := s.syncConfig(ctx, environmentID); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListNotificationEndpoints(ctx, store.ListNotificationEndpointsParams{EnvironmentID: environmentID})
}

// Get returns a live webhook of the environment.
func (s *Service) Get(ctx context.Context, environmentID int64, id string) (liftoff.NotificationEndpoint, error) {
	ep, err := s.cfg.Store.GetNotificationEndpoint(ctx, store.GetNotificationEndpointParams{ID: id})
	if err == nil && ep.EnvironmentID != environmentID {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return ep, fail.Wrap(fail.NotFound, err, "Notification endpoint not found")
	}
	return ep, err
}

// Delete deletes a webhook made through the API; those of liftoff.json go
// when they leave it.
func (s *Service) Delete(ctx context.Context, environmentID int64, id string) error {
	ep, err := s.Get(ctx, environmentID, id)
	if err != nil {
		return err
	}
	if ep.Source == liftoff.NotificationFromConfig {
		return fail.Conflictf("this endpoint is declared in liftoff.json: remove it from the environment's \"notifications\" there and sync the project")
	}
	return s.cfg.Store.DeleteNotificationEndpoint(ctx, store.DeleteNotificationEndpointParams{ID: id, At: s.cfg.Now()})
}

// Rotate gives a webhook a new secret and returns it: the one time it is
// shown. It is how the secret of an endpoint declared in liftoff.json is
// first seen.
func (s *Service) Rotate(ctx context.Context, environmentID int64, id string) (Created, error) {
	ep, err := s.Get(ctx, environmentID, id)
	if err != nil {
		return Created{}, err
	}
	old := ep
	secret, err := s.seal(&ep)
	if err != nil {
		return Created{}, err
	}
	ok, err := s.cfg.Store.ResealNotificationEndpoint(ctx, store.ResealParams[liftoff.NotificationEndpoint]{Old: old, KeyID: ep.KeyID,
		Sealed: ep.Sealed, At: s.cfg.Now()})
	if err != nil {
		return Created{}, err
	}
	if !ok {
		return Created{}, fail.Conflictf("the endpoint changed meanwhile (rotated or deleted): list it and try again")
	}
	return Created{Endpoint: ep, Secret: secret}, nil
}

// Deliveries lists a webhook's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, environmentID int64, id string, limit int) ([]liftoff.NotificationDelivery, error) {
	if _, err := s.Get(ctx, environmentID, id); err != nil {
		return nil, err
	}
	return s.cfg.Store.ListNotificationDeliveries(ctx, store.ListNotificationDeliveriesParams{Destination: id, Limit: limit})
}

// environment returns a live environment, or a NotFound error.
func (s *Service) environment(ctx context.Context, id int64) (liftoff.Environment, error) {
	env, err := s.cfg.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: id})
	if err == nil && env.Deleted() {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return env, fail.Wrap(fail.NotFound, err, "Environment not found")
	}
	return env, err
}

// syncConfig makes the webhooks of an environment's liftoff.json entry
// match it: one endpoint per declared URL, made with a new secret when it
// appears (shown by Rotate), made again when its events or format
// changed, deleted when it left. Replicas doing it at once make each
// once (a unique index); a loser's work is undone.
func (s *Service) syncConfig(ctx context.Context, environmentID int64) error {
	env, err := s.cfg.Store.GetEnvironment(ctx, store.GetEnvironmentParams{ID: environmentID})
	if err != nil {
		return err
	}
	have, err := s.cfg.Store.ListNotificationEndpoints(ctx, store.ListNotificationEndpointsParams{EnvironmentID: environmentID})
	if err != nil {
		return err
	}
	want := map[string]Spec{}
	if !env.Deleted() {
		for _, n := range env.Config.Notifications {
			spec, err := checkSpec(Spec{URL: n.URL, Events: n.Events, Format: n.Format})
			if err != nil {
				continue // config.Parse refused it before it was stored
			}
			want[spec.URL] = spec
		}
	}
	now := s.cfg.Now()
	// An endpoint whose events or format changed keeps its secret.
	kept := map[string][]byte{}
	for _, ep := range have {
		if ep.Source != liftoff.NotificationFromConfig {
			continue
		}
		spec, ok := want[ep.URL]
		if ok && slices.Equal(spec.Events, ep.Events) && spec.Format == ep.Format {
			delete(want, ep.URL)
			continue
		}
		if ok {
			if secret, err := s.cfg.Keys.Open(ep.KeyID, ep.Sealed, liftoff.NotificationSecretAAD(ep.ID)); err == nil {
				kept[ep.URL] = secret
			}
		}
		if err := s.cfg.Store.DeleteNotificationEndpoint(ctx, store.DeleteNotificationEndpointParams{ID: ep.ID, At: now}); err != nil &&
			!errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if len(want) > 0 && s.cfg.NewID == nil {
		return errors.New("notify: Config.NewID is required to make endpoints")
	}
	for _, spec := range want {
		ep := liftoff.NotificationEndpoint{ID: s.cfg.NewID(), ProjectID: env.ProjectID, EnvironmentID: env.ID, URL: spec.URL, Events: spec.Events,
			Format: spec.Format, Source: liftoff.NotificationFromConfig, CreatedAt: now}
		if secret, ok := kept[spec.URL]; ok {
			if ep.KeyID, ep.Sealed, err = s.cfg.Keys.Seal(secret, liftoff.NotificationSecretAAD(ep.ID)); err != nil {
				return err
			}
		} else if _, err := s.seal(&ep); err != nil {
			return err
		}
		if err := s.cfg.Store.CreateNotificationEndpoint(ctx, ep); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}
