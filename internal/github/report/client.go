package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/notify"
)

// ErrPermanent is wrapped by Deliver's errors that retrying cannot cure:
// GitHub answered 4xx (other than 429, and other than a 403 of its rate
// limits), e.g. 401 bad credentials, 403 a token without the permission,
// 404 a repository the token cannot see, 422 a payload refused. Test it with
// errors.Is. Every other error (5xx, 429, rate limits, the network) is
// worth retrying. It is notify's own, so the queue gives such an event up.
var ErrPermanent = notify.ErrPermanent

// APIError is an answer of GitHub other than 2xx.
type APIError struct {
	Method string
	// Path is the API path called, without the query.
	Path   string
	Status int
	// Message is GitHub's message ({"message": ...}), or the body's start.
	Message string
	// Wait is what GitHub asked to wait before calling again (Retry-After,
	// or until the rate limit resets); 0 when it did not say.
	Wait time.Duration
	// RateLimited: a 429, or a 403 of the primary or secondary rate limit.
	RateLimited bool
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Wait > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.Wait)
	}
	return s
}

// Permanent reports whether retrying the call cannot succeed.
func (e *APIError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && !e.RateLimited
}

// Is makes errors.Is(err, ErrPermanent) true for a permanent answer.
func (e *APIError) Is(target error) bool { return target == ErrPermanent && e.Permanent() }

// RetryAfter is how long to wait before delivering again (0: the
// queue's own backoff).
func (e *APIError) RetryAfter() time.Duration { return e.Wait }

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// call makes one API call with auth (the static token, or the
// installation token of repo), sends in as JSON when not nil, and decodes
// the answer into out when not nil. It returns the answer's headers (for
// pagination).
func (r *Reporter) call(ctx context.Context, repo, method, path string, in, out any) (http.Header, error) {
	auth, err := r.authorization(ctx, repo)
	if err != nil {
		return nil, err
	}
	h, err := r.do(ctx, auth, method, path, in, out)
	var ae *APIError
	if r.key != nil && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		// The installation token was revoked, or expired early: forget
		// it and try once with a new one.
		r.forgetToken(repo)
		if auth, err = r.authorization(ctx, repo); err != nil {
			return nil, err
		}
		h, err = r.do(ctx, auth, method, path, in, out)
	}
	return h, err
}

// do makes one call with the Authorization header auth.
func (r *Reporter) do(ctx context.Context, auth, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	u := *r.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = strings.TrimRight(u.Path, "/") + p
	u.RawQuery = q
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", "liftoff")
	req.Header.Set("Authorization", auth)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		// The error names the URL, never the header: the token stays out.
		return nil, fmt.Errorf("%s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, p, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, r.apiError(method, p, resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			// A proxy's page, a truncated answer: retry.
			return nil, fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, p, err)
		}
	}
	return resp.Header, nil
}

func (r *Reporter) apiError(method, path string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &msg) == nil && msg.Message != "" {
		e.Message = msg.Message
	} else {
		e.Message = clip(strings.TrimSpace(string(raw)), 200)
	}
	e.Wait = retryAfter(resp.Header, r.now())
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.RateLimited = true
	case resp.StatusCode == http.StatusForbidden:
		// GitHub's rate limits answer 403 with x-ratelimit-remaining: 0
		// (primary) or a Retry-After (secondary), and say so.
		e.RateLimited = resp.Header.Get("X-Ratelimit-Remaining") == "0" || resp.Header.Get("Retry-After") != "" ||
			strings.Contains(strings.ToLower(e.Message), "rate limit")
	}
	return e
}

// retryAfter reads how long GitHub asks to wait: Retry-After (seconds or
// an HTTP date), else the rate limit's reset when none is left.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if h.Get("X-Ratelimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0)
		}
	}
	return 0
}

// nextPage is the URL path (and query) of the Link header's rel="next",
// relative to the API's base, or "".
func (r *Reporter) nextPage(h http.Header) string {
	for _, link := range h.Values("Link") {
		for part := range strings.SplitSeq(link, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.Contains(params, `rel="next"`) {
				continue
			}
			target = strings.Trim(strings.TrimSpace(target), "<>")
			prefix := r.base.String()
			if rest, ok := strings.CutPrefix(target, prefix); ok {
				return rest
			}
		}
	}
	return ""
}
