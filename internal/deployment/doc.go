// Package deployment holds the deployments use cases every replica can
// run: queue, cancel, redeploy, tear down, and read deployments and their
// output; the engine in internal/engine runs what they queue.
//
// They work on the store, then tell this node's Runner (the engine, or
// nothing on a replica without one) what it must act on, so a replica
// that runs no engine, the hook service and the GitHub dispatch reach them
// without the engine's steps, git and target packages.
package deployment
