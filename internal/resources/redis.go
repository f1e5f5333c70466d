package resources

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisServer is the operator's Redis server (6 or later: ACL users),
// reached as a user allowed to manage ACL users and to scan and unlink
// every key.
type redisServer struct {
	url  *url.URL
	opts *redis.Options
}

func newRedisServer(raw string) (*redisServer, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("--managed-redis-url must be a redis://user:password@host:port[/db] URL (rediss:// for TLS)")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("--managed-redis-url: %w", scrubbed(err, u))
	}
	opts.DisableIdentity = true // no CLIENT SETINFO: nothing to refuse
	opts.MaxRetries = -1        // a server that is down fails the deployment at once
	opts.DialerRetries = 1
	return &redisServer{url: u, opts: opts}, nil
}

func (r *redisServer) host() string { return r.url.Hostname() }

func (r *redisServer) port() string {
	if port := r.url.Port(); port != "" {
		return port
	}
	return "6379"
}

// appURL is the URL applications connect with as user name.
func (r *redisServer) appURL(name, password string) string {
	u := url.URL{Scheme: r.url.Scheme, User: url.UserPassword(name, password), Host: net.JoinHostPort(r.host(), r.port()),
		Path: r.url.Path}
	return u.String()
}

// client is a connection pool to the server as the operator's user; the
// caller closes it.
func (r *redisServer) client() *redis.Client { return redis.NewClient(r.opts) }

// fail words a failure of a command of the operator's user.
func (r *redisServer) fail(what string, err error) error {
	err = scrubbed(err, r.url)
	if strings.HasPrefix(err.Error(), "NOPERM") {
		return fmt.Errorf("%s: the user of --managed-redis-url may not (%w): give it +acl|setuser +acl|deluser +acl|getuser +scan +unlink and ~* (docs/databases.md)", what, err)
	}
	return fmt.Errorf("%s on the managed Redis server %s: %w", what, r.url.Host, err)
}

// rules are the ACL rules of a resource's user: its password, its keys and
// channels (those under its prefix), and every command but the dangerous
// ones (FLUSHALL, KEYS, CONFIG ...) and those that would list other
// users' keys (SCAN, RANDOMKEY).
// On database 0 (the default) SELECT is refused too, so that no key lands
// in another database, where a teardown would not look for it; with
// another database in the operator's URL, clients must select it.
func (r *redisServer) rules(name, password string) []any {
	out := []any{"reset", "on", ">" + password, "~" + name + ":*", "&" + name + ":*", "+@all", "-@dangerous", "-scan", "-randomkey"}
	if r.opts.DB == 0 {
		out = append(out, "-select")
	}
	return out
}

// create makes user name with password, allowed its own prefix only. It
// refuses to touch a user it did not make (one that exists when it is
// not told to replace it).
func (r *redisServer) create(ctx context.Context, name, password string, replace bool) error {
	c := r.client()
	defer func() { _ = c.Close() }()
	if !replace {
		err := c.Do(ctx, "ACL", "GETUSER", name).Err()
		switch {
		case err == nil:
			return fmt.Errorf("a Redis user %s exists already, which Liftoff did not make: rename or remove it", name)
		case !errors.Is(err, redis.Nil):
			return r.fail("look up user "+name, err)
		}
	}
	if err := c.Do(ctx, append([]any{"ACL", "SETUSER", name}, r.rules(name, password)...)...).Err(); err != nil {
		return r.fail("create user "+name, err)
	}
	r.save(ctx, c)
	return nil
}

// save writes the ACL users to the server's aclfile, when it has one, so
// that they survive its restart (without one, each deployment makes its
// users again).
func (r *redisServer) save(ctx context.Context, c *redis.Client) {
	_ = c.Do(ctx, "ACL", "SAVE").Err() // "not configured to use an ACL file" is no failure
}

// drop removes user name (which ends its connections) and every key of
// its prefix.
func (r *redisServer) drop(ctx context.Context, name string) error {
	c := r.client()
	defer func() { _ = c.Close() }()
	if err := c.Do(ctx, "ACL", "DELUSER", name).Err(); err != nil {
		return r.fail("delete user "+name, err)
	}
	r.save(ctx, c)
	// The name has no glob character: the pattern matches the prefix.
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, name+":*", 1000).Result()
		if err != nil {
			return r.fail("list the keys of "+name, err)
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return r.fail("delete the keys of "+name, err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
