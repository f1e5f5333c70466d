// Package github lets a repository on GitHub (or GitHub Enterprise Server)
// drive Liftoff through a plain repository webhook, without a GitHub App or
// any hosted service: it authenticates a delivery, reads the few fields of a
// ping, push or pull_request payload that Liftoff acts on, tells whether the
// delivery is about a project's repository. Whether a pull request passes a
// preview environment's filter is package prfilter's to say.
//
// It is pure: no HTTP, no store, no git. The webhook handler does the steps,
// in this order:
//
//  1. Read the body (at most [MaxBodySize] bytes: a form-encoded body is
//     larger than its payload), refuse a payload over [MaxPayloadSize]
//     ([PayloadSize]), and [Verify] it against the X-Hub-Signature-256
//     header before anything else looks at it.
//  2. [Parse] it with the X-GitHub-Event header. Events other than ping,
//     push and pull_request come back with Kind [KindIgnored], not an error,
//     so a hook subscribed to "everything" keeps working. Both content types
//     GitHub offers are accepted: application/json, and
//     application/x-www-form-urlencoded (a "payload" form field), which is
//     what the GitHub settings page preselects.
//  3. Find the projects whose repository the event is about with
//     [Repo.Matches].
//  4. For a pull request, decide with the environment's filter (package prfilter);
//     its watch paths need the pull request's changed files, which the
//     payload does not carry, and are left to the engine.
package github
