package github

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// The wire types model only the fields Liftoff reads, under the names of
// GitHub's webhook payloads; encoding/json skips the rest. Pointers tell an
// absent object from an empty one.

type wireRepo struct {
	FullName      string `json:"full_name"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	SSHURL        string `json:"ssh_url"`
	DefaultBranch string `json:"default_branch"`
	Private       bool   `json:"private"`
}

type wireUser struct {
	Login string `json:"login"`
}

type wireLabel struct {
	Name string `json:"name"`
}

type wireBranch struct {
	Ref  string    `json:"ref"`
	SHA  string    `json:"sha"`
	Repo *wireRepo `json:"repo"` // null when the head fork was deleted
}

type wirePullRequest struct {
	Number         int         `json:"number"`
	Title          string      `json:"title"`
	HTMLURL        string      `json:"html_url"`
	State          string      `json:"state"`
	Draft          bool        `json:"draft"`
	Merged         bool        `json:"merged"`
	MergeCommitSHA *string     `json:"merge_commit_sha"`
	Labels         []wireLabel `json:"labels"`
	Head           *wireBranch `json:"head"`
	Base           *wireBranch `json:"base"`
}

type wireChanges struct {
	Base *struct {
		Ref *struct {
			From string `json:"from"`
		} `json:"ref"`
	} `json:"base"`
}

type wirePullRequestEvent struct {
	Action      string           `json:"action"`
	Number      int              `json:"number"`
	PullRequest *wirePullRequest `json:"pull_request"`
	Label       *wireLabel       `json:"label"`
	Changes     *wireChanges     `json:"changes"`
	Repository  *wireRepo        `json:"repository"`
	Sender      *wireUser        `json:"sender"`
}

type wireCommit struct {
	ID string `json:"id"`
}

type wirePushEvent struct {
	Ref        string      `json:"ref"`
	Before     string      `json:"before"`
	After      string      `json:"after"`
	Created    bool        `json:"created"`
	Deleted    bool        `json:"deleted"`
	Forced     bool        `json:"forced"`
	HeadCommit *wireCommit `json:"head_commit"`
	Repository *wireRepo   `json:"repository"`
	Sender     *wireUser   `json:"sender"`
}

type wirePingEvent struct {
	Zen    string `json:"zen"`
	HookID int64  `json:"hook_id"`
	Hook   *struct {
		Events []string `json:"events"`
		Config struct {
			ContentType string `json:"content_type"`
		} `json:"config"`
	} `json:"hook"`
	Repository *wireRepo `json:"repository"`
	Sender     *wireUser `json:"sender"`
}

// problems collects what is wrong with a payload, so that one error names
// every missing field.
type problems []string

func (ps *problems) require(ok bool, field string) {
	if !ok {
		*ps = append(*ps, "missing "+field)
	}
}

func (ps *problems) sha(s, field string) {
	switch {
	case s == "":
		*ps = append(*ps, "missing "+field)
	case !isSHA(s):
		*ps = append(*ps, field+" is not a 40 or 64 hex digit commit id")
	}
}

// text refuses control characters in a name Liftoff keeps (a branch, a
// repository, a label, a login): none of GitHub's has one, and PostgreSQL
// cannot store a NUL.
func (ps *problems) text(s, field string) {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		*ps = append(*ps, field+" holds a control character")
	}
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return errors.New(strings.Join(ps, "; "))
}

// decode unmarshals a payload, keeping json's message (which names the
// field and the expected type, never the value) but not its prefix.
func decode(js []byte, v any) error {
	if err := json.Unmarshal(js, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("the payload is a JSON %s, want an object", te.Value)
			}
			return fmt.Errorf("%s is a JSON %s, want %s", te.Field, te.Value, jsonKind(te.Type))
		}
		return fmt.Errorf("not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// jsonKind names the JSON value a Go type decodes from, so that errors do
// not show the wire types' Go names.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

func (w *wireRepo) repo() Repo {
	if w == nil {
		return Repo{}
	}
	return Repo{
		FullName:      w.FullName,
		HTMLURL:       w.HTMLURL,
		CloneURL:      w.CloneURL,
		SSHURL:        w.SSHURL,
		DefaultBranch: w.DefaultBranch,
		Private:       w.Private,
	}
}

func (w *wireUser) login() string {
	if w == nil {
		return ""
	}
	return w.Login
}

func parsePullRequest(js []byte, ev *Event) error {
	var w wirePullRequestEvent
	if err := decode(js, &w); err != nil {
		return err
	}
	var ps problems
	ps.require(w.Action != "", "action")
	ps.require(w.Repository != nil && w.Repository.FullName != "", "repository.full_name")
	ps.require(w.PullRequest != nil, "pull_request")
	if w.PullRequest == nil {
		return ps.err()
	}
	p := w.PullRequest
	number := w.Number
	if number == 0 {
		number = p.Number
	}
	ps.require(number > 0, "number")
	ps.require(p.Head != nil && p.Head.Ref != "", "pull_request.head.ref")
	if p.Head != nil {
		ps.sha(p.Head.SHA, "pull_request.head.sha")
	} else {
		ps.require(false, "pull_request.head.sha")
	}
	ps.require(p.Base != nil && p.Base.Ref != "", "pull_request.base.ref")
	if err := ps.err(); err != nil {
		return err
	}
	ps.text(p.Head.Ref, "pull_request.head.ref")
	ps.text(p.Base.Ref, "pull_request.base.ref")
	ps.text(w.Repository.FullName, "repository.full_name")
	if p.Head.Repo != nil {
		ps.text(p.Head.Repo.FullName, "pull_request.head.repo.full_name")
	}
	for i, l := range p.Labels {
		ps.text(l.Name, fmt.Sprintf("pull_request.labels[%d].name", i))
	}
	if w.Label != nil {
		ps.text(w.Label.Name, "label.name")
	}
	ps.text(w.Sender.login(), "sender.login")
	if err := ps.err(); err != nil {
		return err
	}

	pr := &PullRequest{
		Number:  number,
		Title:   p.Title,
		HTMLURL: p.HTMLURL,
		State:   p.State,
		Draft:   p.Draft,
		Merged:  p.Merged,
		HeadRef: p.Head.Ref,
		HeadSHA: strings.ToLower(p.Head.SHA),
		BaseRef: p.Base.Ref,
		BaseSHA: strings.ToLower(p.Base.SHA),
	}
	if p.MergeCommitSHA != nil {
		pr.MergeCommitSHA = strings.ToLower(*p.MergeCommitSHA)
	}
	if p.Head.Repo != nil {
		pr.HeadRepo = p.Head.Repo.FullName
	}
	pr.Fork = !strings.EqualFold(pr.HeadRepo, w.Repository.FullName)
	for _, l := range p.Labels {
		if l.Name != "" {
			pr.Labels = append(pr.Labels, l.Name)
		}
	}
	if w.Label != nil {
		pr.Label = w.Label.Name
	}
	if c := w.Changes; c != nil && c.Base != nil && c.Base.Ref != nil {
		pr.PreviousBaseRef = c.Base.Ref.From
	}

	ev.Action = w.Action
	ev.Repository = w.Repository.repo()
	ev.Sender = w.Sender.login()
	ev.PR = pr
	return nil
}

func parsePush(js []byte, ev *Event) error {
	var w wirePushEvent
	if err := decode(js, &w); err != nil {
		return err
	}
	var ps problems
	ps.require(w.Ref != "", "ref")
	ps.sha(w.Before, "before")
	ps.sha(w.After, "after")
	ps.require(w.Repository != nil && w.Repository.FullName != "", "repository.full_name")
	if err := ps.err(); err != nil {
		return err
	}
	ps.text(w.Ref, "ref")
	ps.text(w.Repository.FullName, "repository.full_name")
	ps.text(w.Sender.login(), "sender.login")
	if err := ps.err(); err != nil {
		return err
	}

	p := &Push{
		Ref:     w.Ref,
		Before:  strings.ToLower(w.Before),
		After:   strings.ToLower(w.After),
		Created: w.Created || isZeroSHA(w.Before),
		Deleted: w.Deleted || isZeroSHA(w.After),
		Forced:  w.Forced,
	}
	if b, ok := strings.CutPrefix(w.Ref, "refs/heads/"); ok {
		p.Branch = b
	} else if t, ok := strings.CutPrefix(w.Ref, "refs/tags/"); ok {
		p.Tag = t
	}
	if !p.Deleted {
		p.HeadCommit = p.After
		if w.HeadCommit != nil && isSHA(w.HeadCommit.ID) {
			p.HeadCommit = strings.ToLower(w.HeadCommit.ID)
		}
	}

	ev.Repository = w.Repository.repo()
	ev.Sender = w.Sender.login()
	ev.Push = p
	return nil
}

func parsePing(js []byte, ev *Event) error {
	var w wirePingEvent
	if err := decode(js, &w); err != nil {
		return err
	}
	var ps problems
	ps.require(w.HookID != 0, "hook_id")
	if err := ps.err(); err != nil {
		return err
	}
	p := &Ping{HookID: w.HookID, Zen: w.Zen}
	if w.Hook != nil {
		p.Events = w.Hook.Events
		p.ContentType = w.Hook.Config.ContentType
	}
	ev.Repository = w.Repository.repo()
	ev.Sender = w.Sender.login()
	ev.Ping = p
	return nil
}
