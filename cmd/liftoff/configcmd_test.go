package main

import (
	"os"
	"strings"
	"testing"
)

// Without an argument, in a folder with neither file, the error names both.
func TestConfigValidateNoFile(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := run(t, "config", "validate")
	if err == nil || !strings.Contains(err.Error(), "neither liftoff.json nor flightcontrol.json is in this folder") {
		t.Errorf("config validate without a file: %v", err)
	}
	// The fallback is still read when it is there.
	if err := os.WriteFile("flightcontrol.json", []byte(`{"environments": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := run(t, "config", "validate")
	if !strings.HasPrefix(out, "flightcontrol.json") {
		t.Errorf("config validate with flightcontrol.json: %s", out)
	}
}
