package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/liftoffhq/liftoff/client"
)

// watchEvent is one line of deployments watch --json (and deploy --watch
// --json): a change of the deployment's status, of a service's, a line of
// output (with --logs), or the end.
type watchEvent struct {
	Type         string `json:"type"` // deployment, service, log, end
	Time         string `json:"time"` // when the CLI saw it, RFC 3339
	DeploymentID string `json:"deploymentId"`
	Status       string `json:"status,omitempty"`
	// Service is the service's id in liftoff.json (service and log
	// events; "deploy" for the engine's own log lines).
	Service string              `json:"service,omitempty"`
	Reason  *string             `json:"reason,omitempty"`
	URL     *string             `json:"url,omitempty"`
	Error   []map[string]string `json:"error,omitempty"`
	Text    *string             `json:"text,omitempty"` // a log line
}

// syncWriter serialises writes: the log follower and the poller share it.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err == nil {
		_, _ = w.Write(append(b, '\n'))
	}
}

// logEvent parses a line of the logs endpoint, "[service] text".
func logEvent(deploymentID, line string) watchEvent {
	ev := watchEvent{Type: "log", Time: time.Now().UTC().Format(time.RFC3339Nano), DeploymentID: deploymentID}
	text := line
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if svc, t, ok := strings.Cut(rest, "] "); ok {
			ev.Service, text = svc, t
		}
	}
	ev.Text = &text
	return ev
}

// watchDeployment polls a deployment and prints every change until it
// ends: as text, or as JSON lines (watchEvent).
func watchDeployment(ctx context.Context, c *client.Client, id string, out io.Writer, logs bool, interval time.Duration, jsonLines bool) (client.Deployment, error) {
	w := &syncWriter{w: out}
	if logs {
		go func() {
			_, _ = c.FollowLogs(ctx, id, "", func(l string) {
				if jsonLines {
					writeJSONLine(w, logEvent(id, l))
					return
				}
				_, _ = fmt.Fprintln(w, "  | "+l)
			})
		}()
	}
	seen := map[string]string{}
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			return d, err
		}
		now := time.Now()
		stamp, at := now.Format("15:04:05"), now.UTC().Format(time.RFC3339Nano)
		if seen[""] != d.Status {
			seen[""] = d.Status
			if jsonLines {
				writeJSONLine(w, watchEvent{Type: "deployment", Time: at, DeploymentID: d.DeploymentID, Status: d.Status})
			} else {
				_, _ = fmt.Fprintf(w, "%s deployment %s: %s\n", stamp, d.DeploymentID, d.Status)
			}
		}
		for _, s := range d.ServiceDeployments {
			if seen[s.ServiceDeploymentID] == s.Status {
				continue
			}
			seen[s.ServiceDeploymentID] = s.Status
			if jsonLines {
				ev := watchEvent{Type: "service", Time: at, DeploymentID: d.DeploymentID, Status: s.Status, Service: s.Service.ServiceGivenID,
					Reason: s.Reason, Error: s.Error}
				if s.Status == "SUCCESS" {
					ev.URL = s.Service.ServiceDomain
				}
				writeJSONLine(w, ev)
				continue
			}
			line := fmt.Sprintf("%s   %s: %s", stamp, s.Service.ServiceGivenID, s.Status)
			if s.Reason != nil && (s.Status == "PENDING" || s.Status == "NO_CHANGE") {
				line += " (" + *s.Reason + ")"
			}
			for _, e := range s.Error {
				for _, msg := range e {
					line += ": " + msg
				}
			}
			if s.Status == "SUCCESS" && s.Service.ServiceDomain != nil {
				line += " → " + *s.Service.ServiceDomain
			}
			_, _ = fmt.Fprintln(w, line)
		}
		if isFinal(d.Status) {
			if jsonLines {
				writeJSONLine(w, watchEvent{Type: "end", Time: at, DeploymentID: d.DeploymentID, Status: d.Status, Error: d.Error})
				return d, nil
			}
			for _, e := range d.Error {
				for k, v := range e {
					_, _ = fmt.Fprintf(w, "%s %s: %s\n", stamp, k, v)
				}
			}
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(interval):
		}
	}
}

func isFinal(status string) bool {
	switch status {
	case "SUCCESS", "NO_CHANGE", "BUILD_ERROR", "DEPLOY_ERROR", "ERROR", "CANCELLED":
		return true
	}
	return false
}
