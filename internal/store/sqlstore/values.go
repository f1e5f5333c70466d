package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// ms converts a time to its column value: integer milliseconds since the
// Unix epoch (so ordering and comparison are exact and the same on SQLite
// and PostgreSQL, at the precision of the API's timestamps); NULL for the
// zero time, which means "not set".
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

// millis converts a time to milliseconds since the epoch, for a column or
// a bound that is always set; 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// nullTime scans a nullable millisecond column.
type nullTime struct{ v *int64 }

func (n *nullTime) dest() any { return &n.v }

func (n nullTime) time() time.Time {
	if n.v == nil {
		return time.Time{}
	}
	return fromMillis(*n.v)
}

// fromMillis reads a millisecond column: every time the store returns is
// UTC, so that times read back compare equal to one another.
func fromMillis(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullString scans a nullable text column.
type nullString struct{ v *string }

func (n *nullString) dest() any { return &n.v }

func (n nullString) string() string {
	if n.v == nil {
		return ""
	}
	return *n.v
}

// emptyNull stores "" as NULL.
func emptyNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type statusErrorJSON map[liftoff.Status]string

// encodeErrors stores a list of status errors as the API shows them:
// [{"BUILD_ERROR": "..."}]; NULL for none.
func encodeErrors(errs []liftoff.ErrorEntry) (any, error) {
	if len(errs) == 0 {
		return nil, nil
	}
	out := make([]statusErrorJSON, len(errs))
	for i, e := range errs {
		out[i] = statusErrorJSON{e.Status: e.Message}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode errors: %w", err)
	}
	return string(b), nil
}

func decodeErrors(s nullString) ([]liftoff.ErrorEntry, error) {
	if s.v == nil || *s.v == "" {
		return nil, nil
	}
	var in []statusErrorJSON
	if err := json.Unmarshal([]byte(*s.v), &in); err != nil {
		return nil, fmt.Errorf("decode errors %q: %w", *s.v, err)
	}
	var out []liftoff.ErrorEntry
	for _, m := range in {
		for k, v := range m {
			out = append(out, liftoff.ErrorEntry{Status: k, Message: v})
		}
	}
	return out, nil
}

// encodeDetail stores a trigger detail as JSON; NULL when it says nothing.
func encodeDetail(t liftoff.TriggerDetail) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode trigger detail: %w", err)
	}
	return string(b), nil
}

// decodeDetail reads a trigger detail. It never fails a read: fields a
// newer Liftoff added are skipped, and a detail that is not JSON (no
// Liftoff writes one) says nothing, so one odd row never makes a
// deployment, or a page of them, unreadable.
func decodeDetail(s nullString) liftoff.TriggerDetail {
	var t liftoff.TriggerDetail
	if s.string() != "" && json.Unmarshal([]byte(*s.v), &t) != nil {
		return liftoff.TriggerDetail{}
	}
	return t
}

// encodeConfig stores an entry of the config (an environment's, a
// service's) as JSON.
func encodeConfig(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode config: %w", err)
	}
	return string(b), nil
}

// decodeConfig reads an entry of the config kept as JSON into v (a
// pointer) as well as it can, and never fails a read, so that rows written
// by another version of Liftoff (a rollback) stay readable: a value whose
// shape changed between versions is skipped while the rest is read (as
// encoding/json does), and text that is not JSON at all leaves v zero. One
// odd row then never makes its environment, and every listing, janitor
// pass or restore that includes it, fail; what reads the config finds the
// field missing and says so.
func decodeConfig(s string, v any) {
	if s == "" {
		return
	}
	var shape *json.UnmarshalTypeError
	if err := json.Unmarshal([]byte(s), v); err != nil && !errors.As(err, &shape) {
		reflect.ValueOf(v).Elem().SetZero()
	}
}
