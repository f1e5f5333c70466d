// Package local is Liftoff's built-in local target: it runs releases as
// processes on the Liftoff host and serves web and static services through
// Liftoff's own reverse proxy, at <service>.<instance key>.localhost.
//
// A web, web-private or worker release is its start command, run by
// /bin/sh in a process group of its own with PORT set to a free loopback
// port. It takes traffic only once healthy (web and web-private: its
// health check path answers 200-399; worker: it still runs after
// WorkerGrace; static: its output directory exists). The route of its
// service then switches to it, and the release it replaces is retired:
// new requests already go to the new release, those in flight finish, and
// only then is the old process group stopped (SIGTERM, then SIGKILL after
// StopGrace). A redeploy drops no request.
//
// Releases live as long as the Liftoff that runs them. Close stops them
// when Liftoff shuts down, and Restore starts the last successful ones
// again at the next start. If Liftoff is killed without Close (kill -9, out
// of memory), the kernel kills each release's shell, but what the shell
// started lives on; every running group is recorded in a state file under
// Config.Dir/procs, and Cleanup, called at start before Restore, stops
// what a previous Liftoff left behind.
//
// The package needs Linux (/proc, process groups, waitid).
package local
