package notify

import (
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// The event types, as receivers see them.
const (
	EventCreated   = "deployment.created"
	EventStarted   = "deployment.started"
	EventSucceeded = "deployment.succeeded"
	EventFailed    = "deployment.failed"
	EventCancelled = "deployment.cancelled"
	EventNoChange  = "deployment.no_change"
)

// Event is one change of one deployment.
type Event struct {
	// ID is "<deploymentId>.<type without its deployment. prefix>": one
	// per deployment and type, the key receivers deduplicate on.
	ID   string
	Type string
	// At is when the change happened (the deployment's created, started
	// or finished time).
	At          time.Time
	Deployment  liftoff.Deployment
	Project     liftoff.Project
	Environment liftoff.Environment
}

// EventID is the id of the event of type typ of deployment id.
func EventID(deploymentID, typ string) string {
	const prefix = "deployment."
	if len(typ) > len(prefix) && typ[:len(prefix)] == prefix {
		typ = typ[len(prefix):]
	}
	return deploymentID + "." + typ
}
