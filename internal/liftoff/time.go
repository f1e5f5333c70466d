package liftoff

import "time"

// Time is a point in time as the store keeps it: UTC, millisecond precision
// (the precision of the API's timestamps). Both dialects store it as integer
// milliseconds since the Unix epoch, so ordering and comparison are exact and
// the same on SQLite and PostgreSQL. The zero Time means "not set" and is
// stored as NULL.
type Time struct{ t time.Time }

// At converts t to a store Time, truncating to milliseconds.
func At(t time.Time) Time {
	if t.IsZero() {
		return Time{}
	}
	return Time{t.UTC().Truncate(time.Millisecond)}
}

// Now is the current time as a store Time.
func Now() Time { return At(time.Now()) }

// FromMillis converts milliseconds since the epoch.
func FromMillis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// Millis returns milliseconds since the epoch; 0 for the zero Time.
func (t Time) Millis() int64 {
	if t.t.IsZero() {
		return 0
	}
	return t.t.UnixMilli()
}

// Time returns the time.Time (zero when not set).
func (t Time) Time() time.Time { return t.t }

// IsZero reports whether t is not set.
func (t Time) IsZero() bool { return t.t.IsZero() }

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return At(t.t.Add(d)) }

// Before reports whether t is before u.
func (t Time) Before(u Time) bool { return t.t.Before(u.t) }

// String formats t as the API does: RFC 3339 with milliseconds, in UTC.
func (t Time) String() string {
	if t.t.IsZero() {
		return ""
	}
	return t.t.Format("2006-01-02T15:04:05.000Z07:00")
}
