// Package liftoff is Liftoff's domain vocabulary: projects, environments,
// services, hooks, deployments and their statuses, as every other package
// speaks of them. It holds plain types and the rules that belong to a value
// (a status is final or running, a preview instance is torn down); it does
// no I/O and imports only internal/config (an environment and a service
// carry their entry of the config, typed), so the store, the use cases, the
// engine and the HTTP layer can all depend on it.
//
// Times are plain time.Time; the zero time means "not set" (a deployment
// not started yet). The store keeps them at millisecond precision and
// returns them in UTC, the precision and zone of the API's timestamps.
package liftoff
