// Package deployment holds the deployments use cases every replica can
// run: queue, cancel, redeploy, tear down, and read deployments and their
// output; the engine in internal/engine runs what they queue.
//
// They touch only the store, so a replica that runs no engine (and the
// hook and webhook handlers) reach them without the engine's build, git
// and target packages.
package deployment
