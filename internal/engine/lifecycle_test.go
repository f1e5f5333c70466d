package engine

import "testing"

// TestEngineStopBeforeStart: a server that fails before starting its engine
// stops it anyway; that must return (it used to panic on a nil cancel), and
// the engine must then refuse to start, as it refuses a second Start.
func TestEngineStopBeforeStart(t *testing.T) {
	t.Parallel()
	h := newPreviewHarness(t, "sqlite")
	h.e.Stop()
	h.e.Stop()
	if err := h.e.Start(h.ctx); err == nil {
		t.Fatal("Start after Stop started the engine")
	}

	started := newPreviewHarness(t, "sqlite")
	if err := started.e.Start(started.ctx); err != nil {
		t.Fatal(err)
	}
	if err := started.e.Start(started.ctx); err == nil {
		t.Error("a second Start was accepted")
	}
	started.e.Stop()
	started.e.Stop()
}
