package protect

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Expiries of share links.
const (
	DefaultShareExpiry = 24 * time.Hour
	MaxShareExpiry     = 30 * 24 * time.Hour
	MinShareExpiry     = time.Second
)

// ShareParam is the query parameter of a share link.
const ShareParam = "liftoff_share"

// ShareRequest says what a share link opens.
type ShareRequest struct {
	// PRNumber is the pull request of a preview environment; 0 for
	// another environment.
	PRNumber int
	// ExpiresIn is how long the link works, from MinShareExpiry to
	// MaxShareExpiry; 0 is DefaultShareExpiry.
	ExpiresIn time.Duration
	// Service is the given id of the service whose address the link
	// opens; "" for the first web service deployed (else static).
	Service string
	// Host is the host (host[:port], or an origin such as
	// https://host) the link opens, instead of a service's address.
	Host string
}

// ShareLink is a link that opens an environment (a pull request's
// preview) until ExpiresAt.
type ShareLink struct {
	URL       string
	ExpiresAt time.Time
}

// Share makes a share link of a live environment: a token sealed for its
// environment and pull request, on the address of one of its services.
// Nothing is stored: the link works on every replica until it expires
// (or the secret key is rotated).
func (s *Service) Share(ctx context.Context, environmentID int64, req ShareRequest) (ShareLink, error) {
	env, err := s.environment(ctx, environmentID)
	if err != nil {
		return ShareLink{}, err
	}
	switch {
	case env.IsPreview && req.PRNumber <= 0:
		return ShareLink{}, fail.Invalidf("environment %s is a preview environment: give the pull request's number (prNumber)", env.GivenID)
	case !env.IsPreview && req.PRNumber != 0:
		return ShareLink{}, fail.Invalidf("environment %s is not a preview environment: give no prNumber", env.GivenID)
	case req.PRNumber < 0 || req.PRNumber > 1<<31-1:
		return ShareLink{}, fail.New(fail.Invalid, "prNumber must be a positive integer")
	}
	ttl := req.ExpiresIn
	if ttl == 0 {
		ttl = DefaultShareExpiry
	}
	if ttl < MinShareExpiry || ttl > MaxShareExpiry {
		return ShareLink{}, fail.Invalidf("expiresIn must be from %s to %s (30d), got %s", MinShareExpiry, MaxShareExpiry, ttl)
	}
	base, err := s.origin(ctx, environmentID, req)
	if err != nil {
		return ShareLink{}, err
	}
	expires := s.Now().Add(ttl).Truncate(time.Second)
	tok, err := sealToken(s.Keys, claims{purpose: forShare, environmentID: env.ID, prNumber: req.PRNumber, expires: expires})
	if err != nil {
		return ShareLink{}, err
	}
	return ShareLink{URL: base + "/?" + ShareParam + "=" + tok, ExpiresAt: expires.UTC()}, nil
}

// origin is where a share link leads: the host given, or the address of
// a web or static service of the instance, as its last deployment gave it.
func (s *Service) origin(ctx context.Context, environmentID int64, req ShareRequest) (string, error) {
	if req.Host != "" {
		return originOf(req.Host)
	}
	where := "the environment"
	if req.PRNumber > 0 {
		where = "pull request #" + strconv.Itoa(req.PRNumber)
	}
	deps, err := s.Store.ListDeployments(ctx, store.ListDeploymentsParams{EnvironmentID: environmentID, PRNumber: req.PRNumber,
		HasPRNumber: true, Limit: 20})
	if err != nil {
		return "", err
	}
	// The newest address of each service, newest deployment first.
	var web, static string
	for _, d := range deps {
		for _, sd := range d.Services {
			if sd.ServiceDomain == "" {
				continue
			}
			if req.Service != "" {
				if sd.ServiceGivenID == req.Service {
					return sd.ServiceDomain, nil
				}
				continue
			}
			switch {
			case sd.ServiceType == config.TypeWeb && web == "":
				web = sd.ServiceDomain
			case sd.ServiceType == config.TypeStatic && static == "":
				static = sd.ServiceDomain
			}
		}
	}
	switch {
	case req.Service != "":
		return "", fail.Newf(fail.Conflict, "service %s has no address in %s: it is not a web or static service, "+
			"or was not deployed there lately; deploy it, or give host", printable(req.Service), where)
	case web != "":
		return web, nil
	case static != "":
		return static, nil
	}
	return "", fail.Newf(fail.Conflict, "%s has no web or static service deployed lately: deploy it first, or give host", where)
}

// originOf checks a host given for a share link: host[:port], or an
// http(s) origin, and returns it as an origin.
func originOf(host string) (string, error) {
	raw := host
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	bad := err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Hostname() == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != ""
	if !bad {
		if _, port, err := net.SplitHostPort(u.Host); err == nil {
			n, err := strconv.Atoi(port)
			bad = err != nil || n < 1 || n > 65535
		}
	}
	if bad || strings.ContainsAny(u.Hostname(), " /\\@") {
		return "", fail.Invalidf("host must be a host name with an optional port (pr-12.example.com:8000), or an origin (https://pr-12.example.com), got %q", printable(host))
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// ParseExpiry reads how long a share link works: a Go duration ("90m",
// "24h") or a number of days ("7d").
func ParseExpiry(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 366 {
			return 0, fail.Invalidf("expiresIn must be a duration such as 24h, 90m or 7d, got %q", printable(s))
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fail.Invalidf("expiresIn must be a duration such as 24h, 90m or 7d, got %q", printable(s))
	}
	if d <= 0 {
		return 0, fail.Invalidf("expiresIn must be positive, got %q", printable(s))
	}
	return d, nil
}
