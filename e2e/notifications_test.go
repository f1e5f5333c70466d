package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// webhookBody is what a json webhook receives, as docs/notifications.md
// shows it.
type webhookBody struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	At          string `json:"at"`
	Project     struct{ ProjectID, Name string }
	Environment struct {
		EnvironmentID int64
		GivenID, Name string
	}
	Deployment client.Deployment `json:"deployment"`
	URL        *string           `json:"url"`
}

// delivered is one request a receiver accepted.
type delivered struct {
	Delivery, Event string // X-Liftoff-Delivery and X-Liftoff-Event
	Body            webhookBody
}

// receiver is a webhook endpoint on 127.0.0.1 that accepts only requests
// signed with its secret, and signals each one it accepts.
type receiver struct {
	t      *testing.T
	addr   string // host:port, kept across restarts
	secret string

	mu       sync.Mutex
	srv      *http.Server
	accepted []delivered
	refused  []string // why each request was refused
	signal   chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, addr: "127.0.0.1:0", signal: make(chan struct{}, 1)}
	r.listen()
	return r
}

// listen serves on r.addr (the same port again after close).
func (r *receiver) listen() {
	r.t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	r.t.Cleanup(func() { _ = srv.Close() })
}

// close stops the receiver: Liftoff's requests then fail to connect.
func (r *receiver) close() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	if err := srv.Close(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *receiver) url() string { return "http://" + r.addr + "/liftoff" }

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

// verify checks X-Liftoff-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
// "<t>.<body>"> with the secret, made within 5 minutes of now.
func verify(secret, header string, body []byte) error {
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return fmt.Errorf("malformed signature %q", header)
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("signature made %s from now", d)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.", ts)
	mac.Write(body)
	got, err := hex.DecodeString(v1)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("signature %q does not match the body", header)
	}
	return nil
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		err = verify(r.secret, req.Header.Get("X-Liftoff-Signature"), body)
	}
	var b webhookBody
	if err == nil && (req.Method != http.MethodPost || req.URL.Path != "/liftoff" || req.Header.Get("Content-Type") != "application/json") {
		err = fmt.Errorf("%s %s with Content-Type %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	if err == nil {
		err = json.Unmarshal(body, &b)
	}
	if err != nil {
		r.refused = append(r.refused, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.accepted = append(r.accepted, delivered{Delivery: req.Header.Get("X-Liftoff-Delivery"), Event: req.Header.Get("X-Liftoff-Event"), Body: b})
	w.WriteHeader(http.StatusNoContent)
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// of returns the requests accepted about a deployment, in order.
func (r *receiver) of(deploymentID string) []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivered
	for _, d := range r.accepted {
		if d.Body.Deployment.DeploymentID == deploymentID {
			out = append(out, d)
		}
	}
	return out
}

func (r *receiver) refusals() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

// waitFor waits, up to limit, until the receiver accepted the event typ
// (deployment.succeeded) of a deployment, woken by each request it
// accepts.
func (r *receiver) waitFor(deploymentID, typ string, limit time.Duration) {
	r.t.Helper()
	timeout := time.After(limit)
	for {
		for _, d := range r.of(deploymentID) {
			if d.Event == typ {
				return
			}
		}
		select {
		case <-r.signal:
		case <-timeout:
			r.t.Fatalf("the receiver did not get %s of %s within %s; it got %+v, refused %q", typ, deploymentID, limit,
				r.of(deploymentID), r.refusals())
		}
	}
}

// expectEvents checks that the receiver got the created, started and
// succeeded events of a deployment, each once, in order, with the body
// docs/notifications.md describes: the deployment as Get Deployment
// answers it.
func (f *fixture) expectEvents(r *receiver, id string) {
	f.t.Helper()
	got := r.of(id)
	var types []string
	for _, d := range got {
		types = append(types, d.Event)
	}
	want := []string{"deployment.created", "deployment.started", "deployment.succeeded"}
	if !reflect.DeepEqual(types, want) {
		f.t.Fatalf("the receiver got %q for %s, want each of %q once, in order", types, id, want)
	}
	final, err := f.c.Deployment(ctxT(f.t), id)
	if err != nil {
		f.t.Fatal(err)
	}
	prod := f.project.Environments[0]
	for _, d := range got {
		b := d.Body
		wantID := id + "." + strings.TrimPrefix(d.Event, "deployment.")
		if d.Delivery != wantID || b.ID != wantID || b.Type != d.Event {
			f.t.Errorf("%s: X-Liftoff-Delivery %q, id %q, type %q; want %q", d.Event, d.Delivery, b.ID, b.Type, wantID)
		}
		if b.Project.ProjectID != f.project.ProjectID || b.Project.Name != "mono" || b.Environment.EnvironmentID != prod.EnvironmentID ||
			b.Environment.GivenID != "production" || b.Environment.Name != prod.Name {
			f.t.Errorf("%s names project %+v and environment %+v", d.Event, b.Project, b.Environment)
		}
		if b.URL == nil || *b.URL != f.srv.url()+"/deployments/"+id {
			f.t.Errorf("%s: url %v, want the deployment's page", d.Event, b.URL)
		}
		if _, err := time.Parse(client.TimeLayout, b.At); err != nil {
			f.t.Errorf("%s: at %q: %v", d.Event, b.At, err)
		}
		if b.Deployment.DeploymentID != id || b.Deployment.EnvironmentID != prod.EnvironmentID || b.Deployment.ProjectID != f.project.ProjectID {
			f.t.Errorf("%s: deployment %+v", d.Event, b.Deployment)
		}
	}
	// The last one is sent after the deployment ended: it is exactly what
	// Get Deployment answers now.
	if last := got[2].Body.Deployment; !reflect.DeepEqual(last, final) {
		f.t.Errorf("deployment.succeeded sent\n%+v\nGet Deployment answers\n%+v", last, final)
	}
	if final.Status != "SUCCESS" {
		f.t.Errorf("deployment %s ended %s", id, final.Status)
	}
}

// TestNotificationWebhookDelivery: a webhook made through the API hears a
// deployment's events, signed with the secret the API showed; with its
// receiver down the delivery log shows the failed attempts and why, and
// once the receiver is back the events arrive, in order, each once.
func TestNotificationWebhookDelivery(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixtureWith(t, dialect, "--notify-allow-private")
			ctx := ctxT(t)
			prod := f.project.Environments[0].EnvironmentID
			rcv := newReceiver(t)
			n, err := f.c.CreateNotification(ctx, prod, rcv.url(), nil, "json")
			if err != nil {
				t.Fatal(err)
			}
			if n.Secret == "" || n.URL != "http://"+rcv.addr+"/…" || n.Format != "json" || n.Source != "api" || len(n.Events) != 0 {
				t.Fatalf("created webhook %+v: want a secret, the URL's origin only, json, api, every event (none named)", n.Notification)
			}
			rcv.setSecret(n.Secret)

			// The receiver refuses what is not signed with the secret.
			forged := []byte(`{"id":"x.created","type":"deployment.created"}`)
			for _, sig := range []string{"", "t=1,v1=00", signature("not-the-secret", forged)} {
				req, _ := http.NewRequest(http.MethodPost, rcv.url(), bytes.NewReader(forged))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Liftoff-Signature", sig)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("a request signed %q: %d, want 401", sig, resp.StatusCode)
				}
			}
			forgedRefusals := len(rcv.refusals())

			// 1. A deployment through the hook: created, started, succeeded.
			first := f.call("")
			if d := f.wait(first); d.Status != "SUCCESS" {
				t.Fatalf("first deployment ended %s", d.Status)
			}
			rcv.waitFor(first, "deployment.succeeded", time.Minute)
			f.expectEvents(rcv, first)

			// 2. The receiver is down: the attempts fail, and the delivery
			// log says why.
			rcv.close()
			second := f.call("force=true")
			if d := f.wait(second); d.Status != "SUCCESS" {
				t.Fatalf("second deployment ended %s", d.Status)
			}
			var failed client.NotificationDelivery
			waitUntil(t, "a failed attempt of "+second+".created is in the delivery log", func() bool {
				ds, err := f.c.NotificationDeliveries(ctx, prod, n.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					// Attempts counts an attempt once it is claimed; its
					// error is recorded when it has ended.
					if d.EventID == second+".created" && d.Attempts >= 1 && d.LastError != nil {
						failed = d
						return true
					}
				}
				return false
			})
			if failed.State != "pending" || failed.LastError == nil || !strings.Contains(*failed.LastError, "cannot connect to the receiver") ||
				failed.NextAttemptAt == nil || failed.DeliveredAt != nil || failed.LastStatus != nil {
				t.Fatalf("delivery after a failed attempt = %+v (error %v)", failed, deref(failed.LastError))
			}
			out := liftoffCLI(t, "--server", f.srv.url(), "--api-key", f.key, "notifications", "deliveries", "--env",
				strconv.FormatInt(prod, 10), n.ID)
			var row, delivered string
			for line := range strings.Lines(out) {
				switch {
				case strings.HasPrefix(line, second+".created"):
					row = line
				case strings.HasPrefix(line, first+".succeeded"):
					delivered = line
				}
			}
			if !strings.Contains(row, "pending") || !strings.Contains(row, "cannot connect to the receiver") ||
				!strings.Contains(delivered, "delivered") || !strings.Contains(delivered, "204") {
				t.Fatalf("liftoff notifications deliveries:\n%s", out)
			}

			// 3. The receiver is back on its port: the retries (10 s of
			// backoff at first) deliver the events, in order.
			rcv.listen()
			rcv.waitFor(second, "deployment.succeeded", 3*time.Minute)
			f.expectEvents(rcv, second)
			// Liftoff records a delivery once the receiver answered it.
			var ds []client.NotificationDelivery
			waitUntil(t, "the delivery log shows the 6 events delivered", func() bool {
				if ds, err = f.c.NotificationDeliveries(ctx, prod, n.ID, 0); err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					if d.State != "delivered" {
						return false
					}
				}
				return len(ds) >= 6
			})
			for _, d := range ds {
				if d.State != "delivered" || d.DeliveredAt == nil || d.LastStatus == nil || *d.LastStatus != 204 {
					t.Errorf("delivery %s: %s, status %v, delivered %v", d.EventID, d.State, d.LastStatus, d.DeliveredAt)
				}
				if d.EventID == second+".created" && d.Attempts < 2 {
					t.Errorf("%s delivered in %d attempts, want a retry", d.EventID, d.Attempts)
				}
			}
			if len(ds) != 6 {
				t.Errorf("%d deliveries, want 6: %+v", len(ds), ds)
			}
			// Liftoff's requests were all signed right; and no event came
			// twice for the first deployment meanwhile.
			if r := rcv.refusals(); len(r) != forgedRefusals {
				t.Errorf("the receiver refused Liftoff's requests: %q", r[forgedRefusals:])
			}
			f.expectEvents(rcv, first)
		})
	}
}

// TestNotificationPrivateAddressRefused: without --notify-allow-private a
// webhook may be made on 127.0.0.1 (its URL is only checked for its
// form), but Liftoff never connects to it: each delivery fails, the log
// saying the address is loopback and which flag allows it.
func TestNotificationPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "sqlite")
	ctx := ctxT(t)
	prod := f.project.Environments[0].EnvironmentID
	rcv := newReceiver(t)
	_, err := f.c.CreateNotification(ctx, prod, rcv.url(), []string{"deployment.created"}, "json")
	const why = "url: the receiver's address 127.0.0.1 is loopback; to let notifications reach such addresses, start liftoff serve with --notify-allow-private"
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 400 || !strings.Contains(err.Error(), why) {
		t.Fatalf("creating a webhook on 127.0.0.1: %v, want 400 %q", err, why)
	}
	if list, err := f.c.Notifications(ctx, prod); err != nil || len(list) != 0 {
		t.Fatalf("webhooks after the refusal: %+v, %v", list, err)
	}
	if len(rcv.refusals()) != 0 {
		t.Fatalf("the receiver was reached: %q", rcv.refusals())
	}
}

// signature signs body as Liftoff does, now.
func signature(secret string, body []byte) string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.", ts)
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
