package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/github"
	"github.com/liftoffhq/liftoff/internal/github/dispatch"
	"github.com/liftoffhq/liftoff/internal/redact"
)

// maxDeliveryID bounds the X-GitHub-Delivery header.
const maxDeliveryID = 100

// payloadTooLarge refuses a webhook body over GitHub's own cap, in MB as
// GitHub's documentation counts them (2^20 bytes).
func payloadTooLarge() string {
	return fmt.Sprintf("the payload is larger than GitHub's %d MB", github.MaxPayloadSize>>20)
}

// githubWebhook serves POST /api/github/webhook: authenticate (the shared
// secret's HMAC, in constant time), parse, act, answer. A refused call is
// logged without its body.
func (a *API) githubWebhook(w http.ResponseWriter, r *http.Request) error {
	if len(a.GitHubSecret) == 0 || a.Webhooks == nil {
		return fail.New(fail.NotFound, "GitHub webhooks are not set up: start Liftoff with --github-webhook-secret")
	}
	// The cap is GitHub's, on the payload; a form-encoded body is larger
	// than its payload, so the body is bounded at the most such a payload
	// takes.
	body, release, err := readBudgeted(r.Body, github.MaxBodySize, a.webhookBodies)
	defer release()
	if errors.Is(err, errOverBudget) {
		// Logged once, with the caller's address, by the adapter.
		return &fail.Error{Kind: fail.Unavailable, RetryAfter: 10 * time.Second, Err: fmt.Errorf("github webhook from %s: %w", a.client(r), err),
			Message: "Liftoff is receiving too many webhook payloads at once; redeliver this one from the webhook's Recent Deliveries in GitHub"}
	}
	if err != nil {
		return fail.Wrap(fail.Invalid, err, "could not read the request body")
	}
	if len(body) > github.MaxBodySize || github.PayloadSize(body) > github.MaxPayloadSize {
		return fail.New(fail.TooLarge, payloadTooLarge())
	}
	event, delivery := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	if err := github.Verify(a.GitHubSecret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		// The headers are the caller's, unauthenticated: logged bounded,
		// quoted and with anything shaped like a secret redacted.
		a.Log.WarnContext(r.Context(), "github webhook refused", "reason", err.Error(),
			"event", quoteShort(redact.Secrets(event)), "delivery", quoteShort(redact.Secrets(delivery)),
			"remote", a.client(r), "bytes", len(body))
		msg := "The X-Hub-Signature-256 signature does not match the payload: check the webhook's secret"
		if errors.Is(err, github.ErrUnsigned) {
			msg = "The call is not signed: set the webhook's secret in GitHub to Liftoff's --github-webhook-secret"
		}
		return fail.Wrap(fail.Unauthorized, err, msg)
	}
	ev, err := github.Parse(event, body)
	if err != nil {
		return fail.Wrap(fail.Invalid, err, "the "+quoteShort(event)+" payload is not one Liftoff can read: "+err.Error())
	}
	if ev.Kind == github.KindPing {
		writeJSON(w, http.StatusOK, map[string]string{"event": "ping", "message": "pong: Liftoff receives this webhook"})
		return nil
	}
	// GitHub sends a GUID; the signature does not cover it, so it only
	// tells replays of one delivery apart from new ones (Deliver).
	if delivery == "" || len(delivery) > maxDeliveryID || strings.ContainsFunc(delivery, notVisibleASCII) {
		return fail.New(fail.Invalid,
			"The X-GitHub-Delivery header must be the delivery's id (GitHub sends a GUID), at most 100 visible ASCII characters")
	}
	res, err := a.Webhooks.Deliver(r.Context(), dispatch.Delivery{ID: delivery, Body: body, Event: ev})
	if err != nil {
		return err
	}
	a.Log.InfoContext(r.Context(), "github webhook", "event", ev.Kind, "action", ev.Action, "delivery", delivery,
		"repository", ev.Repository.FullName, "queued", len(res.Queued), "torn_down", len(res.TornDown), "duplicate", res.Duplicate)
	if res.Duplicate {
		// 200, not 202: nothing was accepted for processing.
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	writeJSON(w, http.StatusAccepted, res)
	return nil
}
