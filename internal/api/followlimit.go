package api

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Log streams (logs with follow=true) each hold a connection and read the
// store until their deployment ends. These bound how many one credential,
// and all callers together, may hold open, so a leaked hook URL or a
// runaway script cannot starve the store for everybody else.
const (
	defaultFollowsPerCredential = 16
	defaultFollowsTotal         = 512
)

// followLimits counts the open log streams, per credential and in all.
type followLimits struct {
	perCredential, total int

	mu    sync.Mutex
	open  map[[sha256.Size]byte]int
	count int
}

func newFollowLimits(perCredential, total int) *followLimits {
	return &followLimits{perCredential: perCredential, total: total, open: map[[sha256.Size]byte]int{}}
}

// credentialOf names the credential a request authenticated with (a hook
// secret or an API key) by a hash of it: the secret itself is never kept.
func credentialOf(r *http.Request) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.TrimSpace(r.Header.Get("Authorization"))))
}

// acquire opens a stream for the request's credential. It returns a
// release func, or a message saying which limit was reached.
func (f *followLimits) acquire(r *http.Request) (release func(), refused string) {
	c := credentialOf(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.open[c] >= f.perCredential:
		return nil, "This credential already follows the logs of " + strconv.Itoa(f.perCredential) +
			" deployments at once, the most one key or hook secret may; close a stream (or read the logs without follow=true) and try again"
	case f.count >= f.total:
		return nil, "Liftoff already serves " + strconv.Itoa(f.total) + " log streams, the most it serves at once; try again shortly"
	}
	f.open[c]++
	f.count++
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.open[c]--; f.open[c] == 0 {
				delete(f.open, c)
			}
			f.count--
		})
	}, ""
}
