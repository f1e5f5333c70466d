package config

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Command is a command of a service, in either of the forms Flightcontrol
// accepts: a shell line ("npm ci && npm run build"), run with sh -c, or an
// argv (["node", "server.js"], the exec form), run directly with no shell,
// so that nothing in it is expanded or split. At most one of Line and Args
// is set.
//
// It reads and writes JSON in the same form it was given, so a stored
// configuration keeps its shape, and one stored before the exec form
// existed (always a string) still reads.
type Command struct {
	// Line is the shell form.
	Line string
	// Args is the exec form: the program (looked up in PATH when it has no
	// slash) and its arguments. Never empty when set: the schema rejects [].
	Args []string
}

// Shell returns the shell form of line.
func Shell(line string) Command { return Command{Line: line} }

// Exec returns the exec form of args.
func Exec(args ...string) Command { return Command{Args: args} }

// IsZero reports whether the command was left out (or given as ""). It is
// what omitzero consults, so that the field is left out of JSON exactly
// when the string field it replaces was.
func (c Command) IsZero() bool { return c.Line == "" && len(c.Args) == 0 }

// IsBlank reports whether there is nothing to run: no command, or a shell
// line of only spaces.
func (c Command) IsBlank() bool { return len(c.Args) == 0 && strings.TrimSpace(c.Line) == "" }

// IsExec reports whether the command is in the exec form.
func (c Command) IsExec() bool { return len(c.Args) > 0 }

// Argv is the command line to start: the argv of the exec form, or shell
// -c with the line.
func (c Command) Argv(shell string) []string {
	if c.IsExec() {
		return c.Args
	}
	return []string{shell, "-c", c.Line}
}

// String shows the command for logs and messages: the shell line as it
// is, the argv quoted the way a shell would need it (node 'a b' '$HOME'),
// so that pasting it into a shell runs the same thing.
func (c Command) String() string {
	if !c.IsExec() {
		return c.Line
	}
	parts := make([]string, len(c.Args))
	for i, a := range c.Args {
		parts[i] = shellQuote(a)
	}
	return strings.Join(parts, " ")
}

// shellQuote returns a unchanged when a shell reads it as one literal word,
// and single-quoted otherwise.
func shellQuote(a string) string {
	if a != "" && strings.IndexFunc(a, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

// MarshalJSON writes the form the command was given in.
func (c Command) MarshalJSON() ([]byte, error) {
	if c.IsExec() {
		return json.Marshal(c.Args)
	}
	return json.Marshal(c.Line)
}

// UnmarshalJSON reads a string or an array of strings. It does not fail on
// other JSON, which reads as no command: Parse's schema reports it with its
// path, and a stored configuration of another shape (written by a newer
// Liftoff) still reads, but for this field.
func (c *Command) UnmarshalJSON(b []byte) error {
	*c = Command{}
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &c.Line)
	case len(b) > 0 && b[0] == '[':
		var args []string
		if json.Unmarshal(b, &args) == nil && len(args) > 0 {
			c.Args = args
		}
	}
	return nil
}

// fingerprintValue is what Service.Fingerprint encodes for the command:
// the string itself for the shell form, so that fingerprints of services
// written before the exec form existed do not change, and the array for
// the exec form, which no string encodes to.
func (c Command) fingerprintValue() any {
	if c.IsExec() {
		return c.Args
	}
	return c.Line
}
