// Package protect decides who may open an environment's web and static
// services through Liftoff's proxy, as Vercel's deployment protection
// does for previews: the use case that keeps each environment's setting
// (Service) and the HTTP gate in front of the proxy that enforces it
// (Gate).
//
// # Modes
//
// An environment is public (anyone who reaches the proxy opens it) or
// protected. Nobody has to set it: a preview environment is protected and
// any other environment (production) public until someone sets its mode
// through the API or the CLI. The setting lives in the store, never in
// liftoff.json, which a pull request could change to lift its own
// preview's protection.
//
// # Opening a protected environment
//
// A request to a protected host passes the gate with any of:
//
//   - a share link: the host with ?liftoff_share=<token>, made by the API
//     for one environment (and pull request) with an expiry. The gate
//     checks the token, sets it as a cookie of that host (HttpOnly,
//     SameSite=Lax, Secure when the request came over TLS, expiring with
//     the link) and redirects to the same URL without the parameter. An
//     expired link is refused saying when it expired; a forged one, or
//     one for another environment or pull request, saying it is not
//     valid.
//   - the environment's shared password, typed into the form the gate
//     answers with (401) and posted to /.liftoff/login on the same host.
//     Attempts are rate limited per client address (Config.LoginLimit)
//     and the form carries a CSRF token (below). A right password sets a
//     cookie as a share link does, for Config.PasswordTTL.
//   - a signed-in member of the team (Config.Session): the seam where the
//     dashboard's session will plug in; nil today.
//
// Whatever else a request carries goes to the service untouched, but the
// gate's own cookies, which are taken out of the request first: a
// preview's code (a pull request's) never sees them.
//
// # Tokens
//
// Share links, cookies and CSRF tokens are one format: a few bytes of
// claims (what the token is for, the environment id, the pull request
// number, the expiry, and for a password cookie the version of the
// password it was given for, for a CSRF token a nonce) sealed with
// AES-256-GCM under the secret keyring (package secretbox), the keys that
// seal secret variables. Sealing authenticates the claims (a token cannot
// be forged or altered without the key file) and keeps them unreadable;
// the keyring already holds the keys every replica shares, so any replica
// checks any token, and nothing about tokens is stored. A token is bound
// to its environment and pull request: one for pr-12 opens nothing of
// pr-13 or production. A password cookie carries a digest of the sealed
// password it was given for, so changing (or removing) the password ends
// every password cookie at once; share links are unaffected. Rotating the
// secret key (liftoff secrets rotate-key) ends every token sealed under
// the keys it retires: share links, cookies and forms alike.
//
// The CSRF token of the password form is a signed double submit: the
// form page sets a random nonce in a cookie (HttpOnly, SameSite=Lax,
// kept by every later form of the host) and puts a sealed token naming
// that nonce, the host's
// environment and pull request and an expiry in the form; a login must
// bring both, matching. Cross-origin posts are also refused by their
// Sec-Fetch-Site and Origin headers (net/http's CrossOriginProtection).
//
// # Cost per request
//
// The gate reads the proxy's route table to learn which instance serves a
// Host (Config.Instances, in memory) and the instance's environment's
// setting from a cache: the store is read on a miss and again once an
// entry is older than Service.TTL (default 5s). A change made through
// this replica applies at once (Service.Set drops the entry); one made
// through another replica sharing the database applies here within TTL.
// While the store does not answer, an entry read before keeps serving; a
// host whose setting was never read answers 503. Opening a token is one
// AES-GCM open; a password is opened only when someone posts the form.
package protect
