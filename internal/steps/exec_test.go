package steps

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/sandbox/sandboxtest"
)

// An exec-form step runs its program with its arguments as given: nothing
// in them is expanded, split or read as shell syntax, sandboxed or not, and
// the program is looked up in the step's PATH.
func TestRunExecForm(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name string
		spec func(t *testing.T, steps ...Step) Spec
	}{
		{"unsandboxed", testSpec},
		{"bwrap", func(t *testing.T, steps ...Step) Spec {
			sandboxtest.Skip(t)
			spec, _ := sandboxSpec(t, steps...)
			return spec
		}},
	}
	literal := []string{"$HOME", "a;b", "two words", "*", "`id`", "'q'", "$(echo x)", ">out"}
	tests := []struct {
		name     string
		step     Step
		pathDir  bool   // PATH starts with the checkout's bin, which holds liftoff-test-tool
		wantOut  string // the whole output
		wantErr  bool
		wantText string // the error says
	}{
		{
			name:    "arguments passed literally",
			step:    Step{Name: "startCommand", Command: "printf ...", Args: append([]string{"printf", `[%s]\n`}, literal...)},
			wantOut: "==> startCommand: printf ...\n[$HOME]\n[a;b]\n[two words]\n[*]\n[`id`]\n['q']\n[$(echo x)]\n[>out]\n",
		},
		{
			name:    "program looked up in the step's PATH",
			step:    Step{Name: "preDeployCommand", Command: "liftoff-test-tool x", Args: []string{"liftoff-test-tool", "x"}},
			pathDir: true,
			wantOut: "==> preDeployCommand: liftoff-test-tool x\ntool ran with x\n",
		},
		{
			name:    "program by a path relative to the directory",
			step:    Step{Name: "preDeployCommand", Command: "./bin/liftoff-test-tool y", Args: []string{"./bin/liftoff-test-tool", "y"}},
			wantOut: "==> preDeployCommand: ./bin/liftoff-test-tool y\ntool ran with y\n",
		},
		{
			name:     "program not found",
			step:     Step{Name: "postDeployCommand", Command: "liftoff-no-such-command", Args: []string{"liftoff-no-such-command"}},
			wantErr:  true,
			wantText: `postDeployCommand "liftoff-no-such-command"`,
		},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				out := newLiveOutput()
				spec := m.spec(t, tt.step)
				spec.Output = out
				bin := filepath.Join(spec.Dir, "bin")
				if err := os.MkdirAll(bin, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(bin, "liftoff-test-tool"), []byte("#!/bin/sh\necho \"tool ran with $1\"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
				if tt.pathDir {
					spec.Env = append(spec.Env, "PATH="+bin+":"+pathOf(spec.Env))
				}
				err := Run(t.Context(), spec)
				out.close()
				if tt.wantErr {
					var se *StepError
					if !errors.As(err, &se) || se.Step != tt.step.Name || !strings.Contains(err.Error(), tt.wantText) {
						t.Fatalf("Run = %v, want a StepError of %s saying %q", err, tt.step.Name, tt.wantText)
					}
					return
				}
				if err != nil {
					t.Fatalf("Run = %v\noutput:\n%s", err, out)
				}
				if got := out.String(); got != tt.wantOut {
					t.Errorf("output:\n%s\nwant:\n%s", got, tt.wantOut)
				}
				if _, err := os.Stat(filepath.Join(spec.Dir, "out")); err == nil {
					t.Error("a '>out' argument redirected the output")
				}
			})
		}
	}
}

// pathOf is the PATH of env, as exec reads it (the last one).
func pathOf(env []string) string {
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}
