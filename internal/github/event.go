package github

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// EventHeader is the header naming the event of a delivery.
const EventHeader = "X-GitHub-Event"

// MaxPayloadSize is the largest payload GitHub sends (it drops bigger
// ones); Parse rejects a bigger one. It bounds the JSON, not the body: a
// form-encoded delivery's body is larger than its payload.
const MaxPayloadSize = 25 << 20

// MaxBodySize is the most a handler needs to read of a delivery's body: a
// MaxPayloadSize payload form-encoded, each of its bytes written as at most
// three ("%7B"), after the field's name.
const MaxBodySize = 3*MaxPayloadSize + 8 // 8: len("payload=")

// PayloadSize is the size of the JSON payload body holds, without decoding
// it: the body itself for application/json, the decoded length of its
// "payload" field for application/x-www-form-urlencoded, or, for what is
// neither, the body's length. It lets a handler refuse an oversized
// delivery (413) before checking its signature.
func PayloadSize(body []byte) int {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return len(trimmed)
	}
	for field := range bytes.SplitSeq(body, []byte("&")) {
		value, ok := bytes.CutPrefix(field, []byte("payload="))
		if !ok {
			continue
		}
		n := 0
		for i := 0; i < len(value); i++ {
			if value[i] == '%' {
				i += 2
			}
			n++
		}
		return n
	}
	return len(body)
}

// Kinds of Event.
const (
	KindPing        = "ping"         // sent when the webhook is created: Event.Ping is set
	KindPullRequest = "pull_request" // Event.PR is set
	KindPush        = "push"         // Event.Push is set
	KindIgnored     = "ignored"      // any other event: not parsed
)

// Actions of pull_request events that Liftoff may act on. GitHub sends
// others (assigned, review_requested, ...), which Event.Action carries as
// sent.
const (
	ActionOpened           = "opened"
	ActionSynchronize      = "synchronize" // new commits on the head branch
	ActionReopened         = "reopened"
	ActionClosed           = "closed" // PullRequest.Merged tells merged from abandoned
	ActionLabeled          = "labeled"
	ActionUnlabeled        = "unlabeled"
	ActionEdited           = "edited" // title, body or base branch changed
	ActionReadyForReview   = "ready_for_review"
	ActionConvertedToDraft = "converted_to_draft"
)

// ErrInvalidPayload is wrapped by every error of Parse: the delivery is not
// a well-formed GitHub webhook (no event header, not JSON, a required field
// missing or of the wrong type). A handler answers it with 400.
var ErrInvalidPayload = errors.New("invalid webhook payload")

// Event is the part of a webhook delivery Liftoff acts on.
type Event struct {
	// Kind is KindPing, KindPullRequest, KindPush or KindIgnored.
	Kind string
	// Name is the X-GitHub-Event header, trimmed and lowercased: the event
	// name also when Kind is KindIgnored.
	Name string
	// Action is the pull_request action (ActionOpened ...), as sent. Empty
	// for other kinds.
	Action string
	// Repository is the repository the event happened in. Zero for an
	// ignored event, and for the ping of an organization webhook.
	Repository Repo
	// Sender is the login of the user whose action caused the event.
	Sender string
	// PR is set when Kind is KindPullRequest.
	PR *PullRequest
	// Push is set when Kind is KindPush.
	Push *Push
	// Ping is set when Kind is KindPing.
	Ping *Ping
}

// PullRequest is a pull request as a pull_request event shows it, after
// the action.
type PullRequest struct {
	Number int
	Title  string
	// HTMLURL is the pull request's page on GitHub.
	HTMLURL string
	// State is "open" or "closed".
	State  string
	Draft  bool
	Merged bool
	// MergeCommitSHA is the merge commit of a merged pull request; GitHub
	// also fills it with a test merge commit while the pull request is
	// open, so read it only when Merged.
	MergeCommitSHA string
	// HeadRef is the branch the pull request comes from, without
	// "refs/heads/"; HeadSHA its commit, the one a preview deploys.
	HeadRef string
	HeadSHA string
	// HeadRepo is the full name of the repository HeadRef lives in; empty
	// when that fork was deleted.
	HeadRepo string
	// Fork says HeadRepo is not the repository of the event: the head commit
	// is reachable in the base repository only as refs/pull/<n>/head, and
	// its code comes from someone who may not have write access.
	Fork bool
	// BaseRef is the branch the pull request merges into; BaseSHA its
	// commit when the pull request was last updated.
	BaseRef string
	BaseSHA string
	// Labels are the names of the pull request's labels, in GitHub's order.
	// For a labeled event they include the label just added.
	Labels []string
	// Label is, for a labeled or unlabeled event, the label added or
	// removed.
	Label string
	// PreviousBaseRef is, for an edited event that changed the base branch,
	// the base branch before the change.
	PreviousBaseRef string
}

// Push is a push event: a branch or tag created, moved or deleted.
type Push struct {
	// Ref is the full ref pushed: "refs/heads/main", "refs/tags/v1.4.0".
	Ref string
	// Branch is Ref without "refs/heads/" for a branch, else empty.
	Branch string
	// Tag is Ref without "refs/tags/" for a tag, else empty.
	Tag string
	// Before and After are the ref's commits before and after the push;
	// all zeros when the ref did not exist (Created) or was deleted
	// (Deleted).
	Before string
	After  string
	// Created, Deleted and Forced: the push created the ref, deleted it, or
	// moved it to a commit that does not descend from Before.
	Created bool
	Deleted bool
	Forced  bool
	// HeadCommit is the commit the ref points at after the push; empty when
	// Deleted. For an annotated tag After is the tag object and HeadCommit
	// the commit it tags.
	HeadCommit string
}

// Ping is the event GitHub sends when a webhook is created, and when asked
// to from its settings page.
type Ping struct {
	HookID int64
	// Zen is a random aphorism.
	Zen string
	// Events are the events the webhook is subscribed to; "*" means all.
	Events []string
	// ContentType is "json" or "form", as configured on GitHub.
	ContentType string
}

// Subscribed reports whether the webhook that sent the ping delivers event.
func (p *Ping) Subscribed(event string) bool {
	return slices.Contains(p.Events, "*") || slices.Contains(p.Events, event)
}

// Parse reads a delivery: eventHeader is its X-GitHub-Event header, body
// its raw body, JSON or form-encoded. Events other than ping, push and
// pull_request return an Event of Kind KindIgnored whose body is not read.
// An error wraps ErrInvalidPayload and names what is wrong or missing.
func Parse(eventHeader string, body []byte) (Event, error) {
	name := strings.ToLower(strings.TrimSpace(eventHeader))
	ev := Event{Name: name}
	switch name {
	case "":
		return Event{}, fmt.Errorf("%w: missing %s header", ErrInvalidPayload, EventHeader)
	case KindPing, KindPullRequest, KindPush:
		ev.Kind = name
	default:
		ev.Kind = KindIgnored
		return ev, nil
	}
	if len(body) > MaxBodySize {
		return Event{}, fmt.Errorf("%w: %s event: body is larger than %d bytes", ErrInvalidPayload, name, MaxBodySize)
	}
	js, err := payloadJSON(body)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s event: %w", ErrInvalidPayload, name, err)
	}
	if len(js) > MaxPayloadSize {
		return Event{}, fmt.Errorf("%w: %s event: payload is larger than %d bytes", ErrInvalidPayload, name, MaxPayloadSize)
	}
	switch name {
	case KindPing:
		err = parsePing(js, &ev)
	case KindPullRequest:
		err = parsePullRequest(js, &ev)
	default:
		err = parsePush(js, &ev)
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s event: %w", ErrInvalidPayload, name, err)
	}
	return ev, nil
}

// payloadJSON returns the JSON of a delivery: the body itself for
// application/json, the "payload" field for
// application/x-www-form-urlencoded. The content type header is not needed:
// a JSON payload is an object and starts with "{", a form never does.
func payloadJSON(body []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty body")
	}
	if trimmed[0] == '{' {
		return trimmed, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("payload") {
		return nil, errors.New("body is neither a JSON object nor a form with a payload field")
	}
	return []byte(form.Get("payload")), nil
}

// isSHA reports whether s is a full commit id: 40 hex digits, or 64 in a
// SHA-256 repository.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isZeroSHA reports whether s is the all-zero id GitHub uses for a ref that
// does not exist.
func isZeroSHA(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}
