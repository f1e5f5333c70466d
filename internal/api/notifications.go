package api

import (
	"net/http"
	"net/url"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/notify"
)

// notificationsEnv is the environment of a notifications route; without
// the notifications service every such route answers 404.
func (a *API) notificationsEnv(r *http.Request) (int64, error) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return 0, err
	}
	if a.Notifications == nil {
		return 0, fail.New(fail.NotFound, "Environment not found")
	}
	return id, nil
}

type createNotificationBody struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Format string   `json:"format"`
}

func (a *API) createNotification(w http.ResponseWriter, r *http.Request) error {
	env, err := a.notificationsEnv(r)
	if err != nil {
		return err
	}
	var body createNotificationBody
	if err := decode(r, &body); err != nil {
		return err
	}
	c, err := a.Notifications.Create(r.Context(), env, notify.Spec{URL: body.URL, Events: body.Events, Format: body.Format})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, client.CreatedNotification{Notification: notificationOf(c.Endpoint), Secret: c.Secret})
	return nil
}

func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) error {
	env, err := a.notificationsEnv(r)
	if err != nil {
		return err
	}
	eps, err := a.Notifications.List(r.Context(), env)
	if err != nil {
		return err
	}
	out := struct {
		Notifications []client.Notification `json:"notifications"`
	}{Notifications: []client.Notification{}}
	for _, ep := range eps {
		out.Notifications = append(out.Notifications, notificationOf(ep))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) deleteNotification(w http.ResponseWriter, r *http.Request) error {
	env, err := a.notificationsEnv(r)
	if err != nil {
		return err
	}
	if err := a.Notifications.Delete(r.Context(), env, r.PathValue("notificationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateNotification(w http.ResponseWriter, r *http.Request) error {
	env, err := a.notificationsEnv(r)
	if err != nil {
		return err
	}
	c, err := a.Notifications.Rotate(r.Context(), env, r.PathValue("notificationId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, client.CreatedNotification{Notification: notificationOf(c.Endpoint), Secret: c.Secret})
	return nil
}

func (a *API) listNotificationDeliveries(w http.ResponseWriter, r *http.Request) error {
	env, err := a.notificationsEnv(r)
	if err != nil {
		return err
	}
	limit, set, err := queryInt(r, "limit", 31)
	if err != nil {
		return err
	}
	if !set || limit <= 0 || limit > 500 {
		limit = min(max(limit, 50), 500)
	}
	ds, err := a.Notifications.Deliveries(r.Context(), env, r.PathValue("notificationId"), int(limit))
	if err != nil {
		return err
	}
	out := struct {
		Deliveries []client.NotificationDelivery `json:"deliveries"`
	}{Deliveries: []client.NotificationDelivery{}}
	for _, d := range ds {
		v := client.NotificationDelivery{EventID: d.EventID, EventType: d.EventType, DeploymentID: d.DeploymentID, State: d.State,
			Attempts: d.Attempts, LastError: stringOrNull(d.LastError), CreatedAt: client.FormatTime(d.CreatedAt),
			DeliveredAt: timeOrNull(d.DeliveredAt)}
		if d.LastStatus != 0 {
			v.LastStatus = new(d.LastStatus)
		}
		if d.State == liftoff.DeliveryPending {
			v.NextAttemptAt = timeOrNull(d.NextAttemptAt)
		}
		out.Deliveries = append(out.Deliveries, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// notificationOf renders an endpoint: its URL's origin only, since the
// rest may be a secret (a Slack webhook's is).
func notificationOf(ep liftoff.NotificationEndpoint) client.Notification {
	shown := ep.URL
	if u, err := url.Parse(ep.URL); err == nil {
		shown = u.Scheme + "://" + u.Host
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			shown += "/…"
		}
	}
	events := ep.Events
	if events == nil {
		events = []string{}
	}
	return client.Notification{ID: ep.ID, EnvironmentID: ep.EnvironmentID, URL: shown, Events: events, Format: ep.Format, Source: ep.Source,
		CreatedAt: client.FormatTime(ep.CreatedAt)}
}
