// Package notify tells the world about deployments: it derives, from the
// deployments the store holds, one event per deployment and change
// (created, started, and how it ended), and delivers each, at least once,
// to the places an environment names (signed webhooks, Slack) and to
// GitHub (commit statuses, deployments, a pull request's comment).
//
// # Deriving
//
// Deployments change status in many places (hook calls, GitHub events,
// cancels and supersedes inside store transactions, the engine, preview
// teardowns) and on several replicas, so nothing calls this package when
// one changes. Service.Run, on every replica, reads the deployments whose
// told stage (deployments.events_told) lags what the store holds and
// records the events they miss, in order: created, then started if it
// started, then how it ended (SUCCESS → succeeded; BUILD_ERROR,
// DEPLOY_ERROR and ERROR → failed; CANCELLED → cancelled; NO_CHANGE →
// no_change). A state skipped between two scans is still told. The store
// records each (deployment, type) once, whichever replica gets there
// first, and with it one delivery per destination.
//
// # Delivering
//
// Deliveries are a durable queue in the store. A replica claims a due one
// under a lease (as the engine claims deployments), tries it, and records
// how it went; a failure is tried again after an exponential backoff with
// jitter (Config.RetryBase up to Config.RetryMax) until Config.GiveUpAfter
// has passed since the event. A destination hears a deployment's events in
// order: an event waits while an earlier one to it is pending. Delivery is
// at least once: receivers deduplicate on the event id
// (X-Liftoff-Delivery).
//
// Destinations are the webhooks of the event's environment (made through
// the API, or declared in liftoff.json) and the sinks the server wires
// in. A Sink is one method:
//
//	type Sink interface {
//		Deliver(ctx context.Context, e Event) error
//	}
//
// registered under a name in Config.Sinks ("github"): every event is
// queued for every sink, and Deliver is called at least once per event,
// in order per deployment, from any replica that has a sink of that name.
// An error is retried as a webhook's is, unless it wraps ErrPermanent: the
// event is then given up at once. A sink does what it needs with the event
// (and may do nothing); it must be safe for concurrent use.
//
// # Webhooks
//
// A webhook receives a POST per event: the event as JSON (Body), signed
// with the endpoint's secret in X-Liftoff-Signature: t=<unix
// seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, or, in the slack format,
// Slack's {"text": ...}. Requests to loopback, link-local, private,
// unspecified and multicast addresses are refused at dial time, after DNS
// (so a name that resolves to one is refused too), unless
// Config.AllowPrivate (liftoff serve --notify-allow-private). Redirects
// are not followed. An endpoint's URL and secret are never logged; the
// API shows only the URL's origin.
package notify
