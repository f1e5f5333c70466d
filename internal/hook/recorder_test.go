package hook

import (
	"log/slog"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// TestRecorderStopBeforeStart: Stop before Start returns (it used to wait
// forever for a loop that never ran), may be called again, Flush after it
// does not wait, and a later Start does not start the loop.
func TestRecorderStopBeforeStart(t *testing.T) {
	t.Parallel()
	r := NewRecorder(storetest.Open(t, "sqlite"), 0, slog.New(slog.DiscardHandler))
	r.Stop()
	r.Stop()
	r.Flush(t.Context())
	r.Start(t.Context())
	r.Stop()
}
