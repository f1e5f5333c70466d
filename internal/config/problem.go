package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Parse returns for a file that is not
// valid JSON or breaks a rule: the fault is in the file, not in Liftoff.
var ErrInvalid = errors.New("invalid configuration")

// Severity says whether a Problem stops the file from being used.
type Severity int

const (
	// SeverityError makes the file invalid.
	SeverityError Severity = iota + 1
	// SeverityWarning is worth telling the user (a setting Liftoff ignores)
	// but does not stop the file from being used.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the severity as String does, for JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = SeverityError
	case "warning":
		*s = SeverityWarning
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Problem is one thing wrong with, or worth knowing about, a configuration
// file.
type Problem struct {
	// Path is the RFC 6901 JSON pointer of the value concerned
	// ("/environments/0/services/1/port"); "" is the whole document.
	Path string `json:"path"`
	// Message says what is wrong, in a sentence a person can act on.
	Message string `json:"message"`
	// Severity is SeverityError or SeverityWarning.
	Severity Severity `json:"severity"`
}

// String returns "<path>: <message>", with "(root)" as the path of the
// whole document.
func (p Problem) String() string {
	path := p.Path
	if path == "" {
		path = "(root)"
	}
	return path + ": " + p.Message
}

// SyntaxError is returned by Parse for a file that is not JSON. It wraps
// ErrInvalid.
type SyntaxError struct {
	Line   int   // 1-based line of the offending byte
	Column int   // 1-based column, in characters, of the offending byte
	Offset int64 // bytes read before the error
	Msg    string
}

// Error names the line and column, which editors can jump to.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%v: invalid JSON at line %d, column %d: %s", ErrInvalid, e.Line, e.Column, e.Msg)
}

// Unwrap lets errors.Is(err, ErrInvalid) hold.
func (e *SyntaxError) Unwrap() error { return ErrInvalid }

// pointer builds a JSON pointer from reference tokens (strings or ints).
func pointer(tokens ...any) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		switch t := t.(type) {
		case string:
			b.WriteString(escapeToken(t))
		case int:
			b.WriteString(strconv.Itoa(t))
		default:
			panic(fmt.Sprintf("config: pointer token of type %T", t))
		}
	}
	return b.String()
}

func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

func unescapeToken(t string) string {
	if !strings.Contains(t, "~") {
		return t
	}
	return strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
}

// child appends tokens to a pointer.
func child(ptr string, tokens ...any) string { return ptr + pointer(tokens...) }

// problems collects Problems.
type problems []Problem

func (ps *problems) errorf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), Severity: SeverityError})
}

func (ps *problems) warnf(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...), Severity: SeverityWarning})
}

// at reports whether a problem was found at path already (the schema's,
// say), so that a check does not say it again in other words.
func (ps problems) at(path string) bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Path == path })
}

// sorted returns the problems in document order (array indexes compared as
// numbers), errors before warnings at the same path, without duplicates.
func (ps problems) sorted() []Problem {
	out := slices.Clone([]Problem(ps))
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(
			comparePointers(a.Path, b.Path),
			cmp.Compare(a.Severity, b.Severity),
			strings.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(out)
}

func comparePointers(a, b string) int {
	at, bt := splitPointer(a), splitPointer(b)
	for i := 0; i < len(at) && i < len(bt); i++ {
		ai, aerr := strconv.Atoi(at[i])
		bi, berr := strconv.Atoi(bt[i])
		var c int
		if aerr == nil && berr == nil {
			c = cmp.Compare(ai, bi)
		} else {
			c = strings.Compare(at[i], bt[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(at), len(bt))
}

func splitPointer(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// errorCount counts the problems of SeverityError.
func errorCount(ps []Problem) int {
	n := 0
	for _, p := range ps {
		if p.Severity == SeverityError {
			n++
		}
	}
	return n
}

// invalidError summarises the errors among ps as an error wrapping
// ErrInvalid, or returns nil when there are none.
func invalidError(ps []Problem) error {
	n := errorCount(ps)
	if n == 0 {
		return nil
	}
	i := slices.IndexFunc(ps, func(p Problem) bool { return p.Severity == SeverityError })
	if n == 1 {
		return fmt.Errorf("%w: %s", ErrInvalid, ps[i])
	}
	return fmt.Errorf("%w: %d errors, the first: %s", ErrInvalid, n, ps[i])
}
