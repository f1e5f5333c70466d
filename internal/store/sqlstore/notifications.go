package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const endpointColumns = `id, project_id, environment_id, url, events, format, source, key_id, sealed, created_at, deleted_at`

func scanEndpoint(r Row) (liftoff.NotificationEndpoint, error) {
	var e liftoff.NotificationEndpoint
	var events string
	var created int64
	var deleted nullTime
	err := r.Scan(&e.ID, &e.ProjectID, &e.EnvironmentID, &e.URL, &events, &e.Format, &e.Source, &e.KeyID, &e.Sealed, &created, deleted.dest())
	e.Events = decodeEventTypes(events)
	e.CreatedAt, e.DeletedAt = fromMillis(created), deleted.time()
	return e, err
}

// encodeEventTypes keeps event types as ",a,b,": a LIKE finds one whole
// type in it. Empty means every type.
func encodeEventTypes(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return "," + strings.Join(types, ",") + ","
}

func decodeEventTypes(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (q queries) CreateNotificationEndpoint(ctx context.Context, e liftoff.NotificationEndpoint) error {
	for _, t := range e.Events {
		if t == "" || strings.ContainsAny(t, ",%_") {
			return fmt.Errorf("create notification endpoint: event type %q cannot be stored", t)
		}
	}
	_, err := q.exec(ctx, `INSERT INTO notification_endpoints (`+endpointColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)`,
		e.ID, e.ProjectID, e.EnvironmentID, e.URL, encodeEventTypes(e.Events), e.Format, e.Source, e.KeyID, e.Sealed, millis(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("create notification endpoint: %w", err)
	}
	return nil
}

func (q queries) GetNotificationEndpoint(ctx context.Context, p store.GetNotificationEndpointParams) (liftoff.NotificationEndpoint, error) {
	e, err := scanEndpoint(q.read.QueryRow(ctx, `SELECT `+endpointColumns+` FROM notification_endpoints
		WHERE id = $1 AND deleted_at IS NULL`, p.ID))
	if err != nil {
		return liftoff.NotificationEndpoint{}, fmt.Errorf("get notification endpoint %s: %w", p.ID, err)
	}
	return e, nil
}

func (q queries) ListNotificationEndpoints(ctx context.Context, p store.ListNotificationEndpointsParams) ([]liftoff.NotificationEndpoint, error) {
	out, err := collectQuery(ctx, q.read, scanEndpoint, `SELECT `+endpointColumns+` FROM notification_endpoints
		WHERE deleted_at IS NULL AND ($1 = 0 OR environment_id = $1) ORDER BY created_at, id`, p.EnvironmentID)
	if err != nil {
		return nil, fmt.Errorf("list notification endpoints: %w", err)
	}
	return out, nil
}

func (q queries) DeleteNotificationEndpoint(ctx context.Context, p store.DeleteNotificationEndpointParams) error {
	err := q.tx(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, `UPDATE notification_endpoints SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, p.ID, millis(p.At))
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		_, err = c.Exec(ctx, `UPDATE notification_deliveries SET state = '`+liftoff.DeliveryFailed+`', lease_owner = NULL,
			last_error = 'the endpoint was deleted' WHERE destination = $1 AND state = '`+liftoff.DeliveryPending+`'`, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete notification endpoint %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) ResealNotificationEndpoint(ctx context.Context, p store.ResealParams[liftoff.NotificationEndpoint]) (bool, error) {
	n, err := q.exec(ctx, `UPDATE notification_endpoints SET key_id = $3, sealed = $4
		WHERE id = $1 AND deleted_at IS NULL AND key_id = $2 AND sealed = $5`, p.Old.ID, p.Old.KeyID, p.KeyID, p.Sealed, p.Old.Sealed)
	if err != nil {
		return false, fmt.Errorf("reseal notification endpoint %s: %w", p.Old.ID, err)
	}
	return n == 1, nil
}

func (q queries) UntoldDeployments(ctx context.Context, p store.UntoldDeploymentsParams) ([]store.UntoldDeployment, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	// d.events_told < 3 first: the partial index deployments_untold holds
	// exactly those rows.
	out, err := collectQuery(ctx, q.read, func(r Row) (store.UntoldDeployment, error) {
		var u store.UntoldDeployment
		var err error
		u.Deployment, err = scanDeployment(rowWithTold{r, &u.Told})
		return u, err
	}, `SELECT `+deploymentSelectColumns+`, d.events_told FROM deployments d JOIN environments e ON e.id = d.environment_id
		WHERE d.events_told < 3 AND (d.events_told = 0
			OR (d.events_told = 1 AND d.started_at IS NOT NULL)
			OR d.status IN `+finalStatuses+`)
		ORDER BY d.created_at, d.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("deployments with untold events: %w", err)
	}
	return out, nil
}

// rowWithTold scans deploymentSelect's columns and then events_told.
type rowWithTold struct {
	Row
	told *int
}

func (r rowWithTold) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.told)...) }

func (q queries) RecordDeploymentEvents(ctx context.Context, p store.RecordDeploymentEventsParams) (int, error) {
	recorded := 0
	err := q.tx(ctx, func(c Conn) error {
		recorded = 0
		for _, e := range p.Events {
			n, err := c.Exec(ctx, `INSERT INTO deployment_events (deployment_id, type, seq, event_at, recorded_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.DeploymentID, e.Type, e.Seq, millis(e.At), millis(p.At))
			if err != nil {
				return err
			}
			if n == 0 {
				continue // recorded before, by this replica or another
			}
			recorded++
			if _, err := c.Exec(ctx, `INSERT INTO notification_deliveries (destination, event_id, deployment_id, event_type, seq,
					event_at, state, next_attempt_at, created_at)
				SELECT id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS BIGINT), CAST($6 AS BIGINT),
					'`+liftoff.DeliveryPending+`', CAST($7 AS BIGINT), CAST($7 AS BIGINT) FROM notification_endpoints
				WHERE environment_id = $1 AND deleted_at IS NULL AND (events = '' OR events LIKE '%,' || CAST($4 AS TEXT) || ',%')
				ON CONFLICT DO NOTHING`,
				p.EnvironmentID, e.ID, p.DeploymentID, e.Type, e.Seq, millis(e.At), millis(p.At)); err != nil {
				return err
			}
			for _, sink := range p.Sinks {
				if _, err := c.Exec(ctx, `INSERT INTO notification_deliveries (destination, event_id, deployment_id, event_type, seq,
						event_at, state, next_attempt_at, created_at)
					VALUES ($1, $2, $3, $4, $5, $6, '`+liftoff.DeliveryPending+`', $7, $7) ON CONFLICT DO NOTHING`,
					sink, e.ID, p.DeploymentID, e.Type, e.Seq, millis(e.At), millis(p.At)); err != nil {
					return err
				}
			}
		}
		_, err := c.Exec(ctx, `UPDATE deployments SET events_told = $2 WHERE id = $1 AND events_told < $2`, p.DeploymentID, p.Told)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record events of deployment %s: %w", p.DeploymentID, err)
	}
	return recorded, nil
}

const deliveryColumns = `destination, event_id, deployment_id, event_type, seq, event_at, state, attempts, next_attempt_at,
	last_status, last_error, created_at, delivered_at`

func scanDelivery(r Row) (liftoff.NotificationDelivery, error) {
	var d liftoff.NotificationDelivery
	var eventAt, next, created int64
	var delivered nullTime
	err := r.Scan(&d.Destination, &d.EventID, &d.DeploymentID, &d.EventType, &d.Seq, &eventAt, &d.State, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &created, delivered.dest())
	d.EventAt, d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = fromMillis(eventAt), fromMillis(next), fromMillis(created), delivered.time()
	return d, err
}

func (q queries) ClaimNotificationDelivery(ctx context.Context, p store.ClaimNotificationDeliveryParams) (liftoff.NotificationDelivery, error) {
	var d liftoff.NotificationDelivery
	err := q.write(ctx, func(c Conn) error {
		var err error
		d, err = scanDelivery(c.QueryRow(ctx, `UPDATE notification_deliveries
			SET lease_owner = $1, next_attempt_at = $3, attempts = attempts + 1
			WHERE (destination, event_id) = (
				SELECT x.destination, x.event_id FROM notification_deliveries x
				WHERE x.state = '`+liftoff.DeliveryPending+`' AND x.next_attempt_at <= $2
				-- A destination hears a deployment's events in order.
				AND NOT EXISTS (SELECT 1 FROM notification_deliveries o
					WHERE o.destination = x.destination AND o.deployment_id = x.deployment_id
					AND o.seq < x.seq AND o.state = '`+liftoff.DeliveryPending+`')
				ORDER BY x.next_attempt_at, x.seq LIMIT 1`+q.skipLocked()+`)
			AND state = '`+liftoff.DeliveryPending+`' AND next_attempt_at <= $2
			RETURNING `+deliveryColumns, p.Owner, millis(p.At), millis(p.LeaseUntil)))
		return err
	})
	if err != nil {
		return liftoff.NotificationDelivery{}, fmt.Errorf("claim notification delivery: %w", err)
	}
	return d, nil
}

func (q queries) FinishNotificationDelivery(ctx context.Context, p store.FinishNotificationDeliveryParams) (bool, error) {
	var delivered any
	if p.State == liftoff.DeliveryDelivered {
		delivered = millis(p.At)
	}
	next := p.NextAttemptAt
	if p.State != liftoff.DeliveryPending {
		next = p.At
	}
	n, err := q.exec(ctx, `UPDATE notification_deliveries SET state = $4, next_attempt_at = $5, last_status = $6, last_error = $7,
			delivered_at = $8, lease_owner = NULL
		WHERE destination = $1 AND event_id = $2 AND lease_owner = $3 AND state = '`+liftoff.DeliveryPending+`'`,
		p.Destination, p.EventID, p.Owner, p.State, millis(next), p.Status, p.Error, delivered)
	if err != nil {
		return false, fmt.Errorf("finish delivery of %s to %s: %w", p.EventID, p.Destination, err)
	}
	return n == 1, nil
}

func (q queries) ListNotificationDeliveries(ctx context.Context, p store.ListNotificationDeliveriesParams) ([]liftoff.NotificationDelivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 1 << 30
	}
	out, err := collectQuery(ctx, q.read, scanDelivery, `SELECT `+deliveryColumns+` FROM notification_deliveries
		WHERE destination = $1 ORDER BY created_at DESC, deployment_id DESC, seq DESC LIMIT $2`, p.Destination, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries to %s: %w", p.Destination, err)
	}
	return out, nil
}
