package config

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCommandJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Command
		out  string // "" when the field is left out of the marshalled service
	}{
		{"shell line", `"npm start"`, Shell("npm start"), `"npm start"`},
		{"shell line with shell syntax", `"npm run migrate && echo $HOME"`, Shell("npm run migrate && echo $HOME"), `"npm run migrate \u0026\u0026 echo $HOME"`}, // escaped as the string field was
		{"blank line kept as written", `"  "`, Shell("  "), `"  "`},
		{"empty string", `""`, Command{}, ""},
		{"null", `null`, Command{}, ""},
		{"exec form", `["node", "server.js"]`, Exec("node", "server.js"), `["node","server.js"]`},
		{"exec form of one word", `["./run"]`, Exec("./run"), `["./run"]`},
		{"empty array", `[]`, Command{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Command
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Unmarshal(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
			// Inside a service, as stored: the form survives, and a missing
			// command stays missing.
			b, err := json.Marshal(Service{ID: "api", StartCommand: got})
			if err != nil {
				t.Fatal(err)
			}
			want := `{"id":"api","type":"","target":{"type":""}}`
			if tt.out != "" {
				want = `{"id":"api","type":"","startCommand":` + tt.out + `,"target":{"type":""}}`
			}
			if string(b) != want {
				t.Errorf("Marshal = %s, want %s", b, want)
			}
			var back Service
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.StartCommand, got) {
				t.Errorf("round trip = %#v, want %#v", back.StartCommand, got)
			}
		})
	}
}

// JSON of neither form reads as no command rather than failing: the schema
// reports it in a file, and a stored configuration still reads.
func TestCommandReadsOtherJSONAsNone(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`3`, `true`, `null`, `{"run": "x"}`, `["node", 3]`} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			c := Shell("old")
			if err := json.Unmarshal([]byte(in), &c); err != nil || !c.IsZero() {
				t.Errorf("Unmarshal(%s) = %#v, %v; want no command and no error", in, c, err)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    Command
		want string
	}{
		{"shell line as written", Shell(`npm start && echo "$HOME"`), `npm start && echo "$HOME"`},
		{"plain words", Exec("node", "server.js", "--port=3000"), "node server.js --port=3000"},
		{"words a shell would read", Exec("echo", "$HOME", "a;b", "two words"), `echo '$HOME' 'a;b' 'two words'`},
		{"single quote and empty", Exec("printf", "it's", ""), `printf 'it'\''s' ''`},
		{"none", Command{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCommandForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		c                   Command
		zero, blank, isExec bool
		argv                []string
	}{
		{"none", Command{}, true, true, false, []string{"/bin/sh", "-c", ""}},
		{"blank line", Shell(" "), false, true, false, []string{"/bin/sh", "-c", " "}},
		{"shell line", Shell("a; b"), false, false, false, []string{"/bin/sh", "-c", "a; b"}},
		{"exec form", Exec("a;", "b"), false, false, true, []string{"a;", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.c.IsZero(); got != tt.zero {
				t.Errorf("IsZero() = %v", got)
			}
			if got := tt.c.IsBlank(); got != tt.blank {
				t.Errorf("IsBlank() = %v", got)
			}
			if got := tt.c.IsExec(); got != tt.isExec {
				t.Errorf("IsExec() = %v", got)
			}
			if got := tt.c.Argv("/bin/sh"); !reflect.DeepEqual(got, tt.argv) {
				t.Errorf("Argv() = %q, want %q", got, tt.argv)
			}
		})
	}
}

// Fingerprints of services with string commands are those computed before
// commands could be arrays, byte for byte: upgrading Liftoff must not
// redeploy a service whose configuration did not change.
func TestFingerprintOfCommands(t *testing.T) {
	t.Parallel()
	strings := Service{ID: "api", Type: TypeWeb, InstallCommand: "npm ci", PreDeployCommand: Shell("npm run migrate"),
		StartCommand: Shell("node server.js"), PostDeployCommand: Shell("./notify $HOME && echo '<done>'")}
	worker := Service{ID: "w", Type: TypeWorker, StartCommand: Shell("node worker.js")}
	golden := []struct {
		name string
		svc  Service
		root EnvVars
		want string
	}{
		{"string commands", strings, EnvVars{"A": {Value: "1"}},
			"73b9c43233e7cdb0f289dde4f659b9ffa8e431f392860cebd6c7c69e525270f4"},
		{"a start command only", worker, nil,
			"0ca87d23078b3eac267485c786cfa79bb597cdd6e7f3b43c79a7df6f00c95e52"},
	}
	for _, tt := range golden {
		t.Run("golden/"+tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.svc.Fingerprint(tt.root, nil); got != tt.want {
				t.Errorf("Fingerprint = %s, want %s (the value before the exec form)", got, tt.want)
			}
		})
	}

	base := worker.Fingerprint(nil, nil)
	different := []struct {
		name string
		cmd  Command
	}{
		{"the same words in the exec form", Exec("node", "worker.js")},
		{"the line as a single argument", Exec("node worker.js")},
		{"another argv", Exec("node", "worker.js", "--fast")},
	}
	seen := map[string]string{base: "the shell form"}
	for _, tt := range different {
		svc := worker
		svc.StartCommand = tt.cmd
		got := svc.Fingerprint(nil, nil)
		if other, dup := seen[got]; dup {
			t.Errorf("%s fingerprints as %s does", tt.name, other)
		}
		seen[got] = tt.name
		svc.StartCommand = Exec(append([]string(nil), tt.cmd.Args...)...)
		if again := svc.Fingerprint(nil, nil); again != got {
			t.Errorf("%s: fingerprint not stable: %s then %s", tt.name, got, again)
		}
	}
}

func TestParseCommandForms(t *testing.T) {
	t.Parallel()
	f, problems, err := newTestParser(t).Parse([]byte(withService(`{"id": "w", "type": "web",
		"preDeployCommand": ["./migrate", "--to", "latest"], "startCommand": ["node", "server.js"], "postDeployCommand": "echo done"}`)))
	if err != nil || len(problems) != 0 {
		t.Fatalf("Parse: %v\n%s", err, joinProblems(problems))
	}
	s := f.Environments[0].Services[1]
	want := []Command{Exec("./migrate", "--to", "latest"), Exec("node", "server.js"), Shell("echo done")}
	if got := []Command{s.PreDeployCommand, s.StartCommand, s.PostDeployCommand}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands = %#v, want %#v", got, want)
	}
	if !s.Runnable() {
		t.Errorf("a service with an exec-form startCommand does not run: %s", s.NotRunReason())
	}
}
