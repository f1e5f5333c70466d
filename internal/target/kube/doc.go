// Package kube is the kubernetes target: it releases a service to a
// Kubernetes cluster with server-side apply under the field manager
// "liftoff", as a Deployment (minInstances replicas, the health check as
// readiness and liveness probes), a Service and an Ingress for web
// services and static sites, and an immutable Secret holding the
// release's environment. A release waits for its rollout; a rollout that
// does not become available in time is rolled back to the configuration
// Liftoff applied before, whose ReplicaSet still serves.
//
// Every object carries labels naming its project, environment, pull
// request, service and deployment. A preview instance's objects live in
// the environment's namespace under names ending in -pr-N, and its
// teardown deletes what carries its labels, nothing else. Liftoff never
// changes an object it does not manage: one of the same name that is not
// labelled as this service's stops the release with an error.
//
// The images are made by an Images (package imagepack): the target
// asks it for a reference the cluster can pull.
package kube
