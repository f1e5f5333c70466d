package logstream

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestStopBeforeStart: Stop before Start returns (it used to wait forever
// for a loop that never ran), may be called again, and a later Start does
// not start the loop.
func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	s := New(storetest.Open(t, "sqlite"), discard, Options{})
	s.Stop()
	s.Stop()
	s.Start(t.Context())
	s.Stop()
}
