package logstream

import (
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestStopBeforeStart: Stop before Start returns (it used to wait forever
// for a loop that never ran), may be called again, and a later Start does
// not start the loop.
func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	s := newStreams(t, storetest.Open(t, "sqlite"), 0)
	s.Stop()
	s.Stop()
	s.Start(t.Context())
	s.Stop()
}

// TestNewValidates: the cap has its default in server.Config, so streams
// given none (or one too small to hold a head and a tail) refuse to start
// instead of filling a second default or raising it silently.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{name: "liftoff serve's default", opts: Options{MaxDeploymentBytes: testCap}, ok: true},
		{name: "the smallest cap", opts: Options{MaxDeploymentBytes: MinMaxDeploymentBytes}, ok: true},
		{name: "no cap", opts: Options{FlushEvery: DefaultFlushEvery}},
		{name: "a cap too small", opts: Options{MaxDeploymentBytes: MinMaxDeploymentBytes - 1}},
		{name: "a negative cap", opts: Options{MaxDeploymentBytes: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(nil, discard, tc.opts)
			switch {
			case tc.ok && (err != nil || s == nil):
				t.Fatalf("New: %v", err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "Options.MaxDeploymentBytes")):
				t.Fatalf("New: %v, want an error naming Options.MaxDeploymentBytes", err)
			}
		})
	}
}
