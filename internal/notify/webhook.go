package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/view"
)

// The headers of a webhook request.
const (
	HeaderSignature = "X-Liftoff-Signature"
	HeaderEvent     = "X-Liftoff-Event"
	HeaderDelivery  = "X-Liftoff-Delivery"
)

// Body is what a webhook in the json format receives.
type Body struct {
	// ID is the event's id: one per deployment and type, what a receiver
	// deduplicates on (it is X-Liftoff-Delivery too).
	ID   string `json:"id"`
	Type string `json:"type"`
	// At is when the change happened.
	At          string          `json:"at"`
	Project     BodyProject     `json:"project"`
	Environment BodyEnvironment `json:"environment"`
	// Deployment is the deployment as Get Deployment answers it, when
	// the event is sent (a late delivery shows a later state).
	Deployment client.Deployment `json:"deployment"`
	// URL is the deployment's page on the dashboard, when Liftoff knows
	// its public address.
	URL *string `json:"url"`
}

// BodyProject names the event's project.
type BodyProject struct {
	ProjectID string `json:"projectId"`
	Name      string `json:"name"`
}

// BodyEnvironment names the event's environment.
type BodyEnvironment struct {
	EnvironmentID int64  `json:"environmentId"`
	GivenID       string `json:"givenId"`
	Name          string `json:"name"`
}

// BodyOf renders e as a webhook's body.
func (s *Service) BodyOf(e Event) Body {
	return Body{ID: e.ID, Type: e.Type, At: client.FormatTime(e.At),
		Project:     BodyProject{ProjectID: e.Project.ID, Name: e.Project.Name},
		Environment: BodyEnvironment{EnvironmentID: e.Environment.ID, GivenID: e.Environment.GivenID, Name: e.Environment.Name},
		Deployment:  view.Deployment(e.Deployment), URL: view.StringOrNull(s.link(e))}
}

// link is the dashboard's page of e's deployment, or "".
func (s *Service) link(e Event) string {
	if s.cfg.PublicURL == "" {
		return ""
	}
	return s.cfg.PublicURL + "/deployments/" + url.PathEscape(e.Deployment.ID)
}

// slackText is the text of a Slack message about e.
func (s *Service) slackText(e Event) string {
	env := e.Environment.Name
	if env == "" {
		env = e.Environment.GivenID
	}
	where := e.Project.Name + " / " + env
	if e.Deployment.IsPreview {
		where += fmt.Sprintf(" (PR #%d)", e.Deployment.PRNumber)
	}
	what := strings.TrimPrefix(e.Type, "deployment.")
	what = strings.ReplaceAll(what, "_", " ")
	text := fmt.Sprintf("Deployment %s %s: %s", e.Deployment.ID, what, where)
	if c := e.Deployment.GitCommit; c != "" {
		text += " at " + c[:min(len(c), 7)]
	}
	text += " (" + string(e.Deployment.Status) + ")"
	if l := s.link(e); l != "" {
		text += " <" + l + "|open>"
	}
	return text
}

// Sign returns the X-Liftoff-Signature of body sent at t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header against body and secret, and that it
// was made within tolerance of now; receivers may use it.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return errors.New("malformed signature: want t=<unix seconds>,v1=<hex>")
	}
	t := time.Unix(sec, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature made at %s, more than %s from now", t.UTC().Format(time.RFC3339), tolerance)
	}
	want := Sign(secret, t, body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+v1)) {
		return errors.New("signature does not match the body and secret")
	}
	return nil
}

// post sends e to ep and returns the HTTP status.
func (s *Service) post(ctx context.Context, ep liftoff.NotificationEndpoint, e Event) (int, error) {
	var body []byte
	var err error
	if ep.Format == liftoff.NotificationSlack {
		body, err = json.Marshal(map[string]string{"text": s.slackText(e)})
	} else {
		body, err = json.Marshal(s.BodyOf(e))
	}
	if err != nil {
		return 0, err
	}
	secret, err := s.cfg.Keys.Open(ep.KeyID, ep.Sealed, liftoff.NotificationSecretAAD(ep.ID))
	if err != nil {
		return 0, fmt.Errorf("open the endpoint's secret: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the endpoint's URL is not valid: delete it and make it again")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Liftoff-Notifications")
	req.Header.Set(HeaderEvent, e.Type)
	req.Header.Set(HeaderDelivery, e.ID)
	req.Header.Set(HeaderSignature, Sign(string(secret), s.cfg.Now(), body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, describe(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("HTTP %d: the receiver redirects, and notifications follow no redirect: give its final URL", resp.StatusCode)
	}
	return resp.StatusCode, fmt.Errorf("HTTP %d: the receiver did not accept it (it must answer 2xx)", resp.StatusCode)
}

// describe says what went wrong with a request without its URL, which may
// hold a secret (a Slack webhook's does).
func describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, ErrForbiddenAddress) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no answer in time: the receiver must answer within the timeout")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Errorf("the receiver's host name does not resolve: %s", dns.Err)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("cannot connect to the receiver: %s", op.Err.Error())
	}
	return fmt.Errorf("the request failed: %w", err)
}

// ErrForbiddenAddress: a webhook's host is an address notifications may
// not reach.
var ErrForbiddenAddress = errors.New("forbidden address")

// NewClient returns the client of webhooks: no proxy (the address dialled
// is the receiver's, checked), no redirects, and, unless allowPrivate,
// no connection to a loopback, link-local, private, unspecified or
// multicast address, checked on the address dialled, after DNS.
func NewClient(allowPrivate bool, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			return checkAddress(address)
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, ForceAttemptHTTP2: true, MaxIdleConns: 20,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// checkAddress refuses the addresses notifications may not reach.
func checkAddress(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrForbiddenAddress, host)
	}
	ip = ip.Unmap()
	kind := ""
	switch {
	case ip.IsLoopback():
		kind = "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		kind = "link-local"
	case ip.IsPrivate():
		kind = "private"
	case ip.IsUnspecified():
		kind = "unspecified"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		kind = "multicast"
	default:
		return nil
	}
	return fmt.Errorf("%w: the receiver's address %s is %s; to let notifications reach such addresses, start liftoff serve with --notify-allow-private",
		ErrForbiddenAddress, ip, kind)
}
