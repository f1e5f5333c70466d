package liftoff

import "time"

// NotificationEndpoint is a webhook of an environment: where package
// notify delivers the events of its deployments. Its signing secret is
// sealed with the secret keys and bound to the endpoint
// (NotificationSecretAAD), so the store never sees it in clear.
type NotificationEndpoint struct {
	ID            string
	ProjectID     string
	EnvironmentID int64
	URL           string
	// Events are the event types it hears; empty: every type.
	Events []string
	// Format is NotificationJSON or NotificationSlack.
	Format string
	// Source is NotificationFromAPI or NotificationFromConfig.
	Source    string
	KeyID     string
	Sealed    []byte
	CreatedAt time.Time
	DeletedAt time.Time
}

// Formats and sources of notification endpoints.
const (
	NotificationJSON       = "json"
	NotificationSlack      = "slack"
	NotificationFromAPI    = "api"
	NotificationFromConfig = "config"
)

// NotificationSecretAAD binds an endpoint's sealed secret to the endpoint:
// moved to another, it no longer opens.
func NotificationSecretAAD(endpointID string) []byte {
	return []byte("liftoff notification endpoint\x00" + endpointID)
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// NotificationDelivery is one event on its way to one destination: an
// endpoint (Destination is its id) or a sink wired in the server
// (Destination is "sink:<name>").
type NotificationDelivery struct {
	Destination  string
	EventID      string
	DeploymentID string
	EventType    string
	// Seq orders a deployment's events: 0 created, 1 started, 2 the end.
	Seq     int
	EventAt time.Time
	// State is DeliveryPending, DeliveryDelivered or DeliveryFailed.
	State         string
	Attempts      int
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt (0: none, or no
	// answer); LastError what went wrong with it.
	LastStatus  int
	LastError   string
	CreatedAt   time.Time
	DeliveredAt time.Time
}
