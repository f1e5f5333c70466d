package api

import (
	"errors"
	"io"
	"net/http"

	"github.com/liftoffhq/liftoff/internal/github"
)

// maxWebhookBody is GitHub's own cap on a webhook payload.
const maxWebhookBody = 25 << 20

// githubWebhook serves POST /api/github/webhook: authenticate (the shared
// secret's HMAC, in constant time), parse, act, answer. A refused call is
// logged without its body.
func (a *API) githubWebhook(w http.ResponseWriter, r *http.Request) {
	if len(a.GitHubSecret) == 0 || a.Webhooks == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "GitHub webhooks are not set up: start Liftoff with --github-webhook-secret")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeValidation, "could not read the request body")
		return
	}
	if len(body) > maxWebhookBody {
		writeError(w, http.StatusRequestEntityTooLarge, codeValidation, "the payload is larger than GitHub's 25 MB")
		return
	}
	event, delivery := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	if err := github.Verify(a.GitHubSecret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		a.Log.WarnContext(r.Context(), "github webhook refused", "reason", err.Error(), "event", event, "delivery", delivery,
			"remote", a.client(r), "bytes", len(body))
		msg := "The X-Hub-Signature-256 signature does not match the payload: check the webhook's secret"
		if errors.Is(err, github.ErrUnsigned) {
			msg = "The call is not signed: set the webhook's secret in GitHub to Liftoff's --github-webhook-secret"
		}
		writeError(w, http.StatusUnauthorized, codeUnauthorized, msg)
		return
	}
	ev, err := github.Parse(event, body)
	if err != nil {
		a.fail(w, r, invalidf("the "+quoteShort(event)+" payload is not one Liftoff can read: "+err.Error()), "")
		return
	}
	if ev.Kind == github.KindPing {
		writeJSON(w, http.StatusOK, map[string]string{"event": "ping", "message": "pong: Liftoff receives this webhook"})
		return
	}
	res, err := a.Webhooks.Handle(r.Context(), ev)
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	a.Log.InfoContext(r.Context(), "github webhook", "event", ev.Kind, "action", ev.Action, "delivery", delivery,
		"repository", ev.Repository.FullName, "queued", len(res.Queued), "torn_down", len(res.TornDown))
	writeJSON(w, http.StatusAccepted, res)
}
