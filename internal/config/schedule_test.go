package config

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, spec, tz, from string
		want                 []string // the next times, in UTC
	}{
		{"every minute", "* * * * *", "", "2026-03-10T10:00:30Z", []string{"2026-03-10T10:01:00Z", "2026-03-10T10:02:00Z"}},
		{"every 15 minutes", "*/15 * * * *", "", "2026-03-10T10:00:00Z", []string{"2026-03-10T10:15:00Z", "2026-03-10T10:30:00Z"}},
		{"weekdays at 3", "0 3 * * MON-FRI", "", "2026-03-13T04:00:00Z", []string{"2026-03-16T03:00:00Z"}}, // Friday, then Monday
		{"descriptor", "@daily", "", "2026-03-10T10:00:00Z", []string{"2026-03-11T00:00:00Z"}},
		{"in a time zone", "0 9 * * *", "Europe/Paris", "2026-03-10T00:00:00Z", []string{"2026-03-10T08:00:00Z", "2026-03-11T08:00:00Z"}},
		{"across daylight saving time", "0 9 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", []string{"2026-03-29T07:00:00Z"}},
		{"rate of minutes", "rate(5 minutes)", "", "2026-03-10T10:02:00Z", []string{"2026-03-10T10:05:00Z", "2026-03-10T10:10:00Z"}},
		{"rate of one minute", "rate(1 minute)", "", "2026-03-10T10:02:00Z", []string{"2026-03-10T10:03:00Z"}},
		{"rate of hours", "rate(2 hours)", "", "2026-03-10T10:02:00Z", []string{"2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z"}},
		{"rate of a day", "rate(1 day)", "", "2026-03-10T10:02:00Z", []string{"2026-03-11T00:00:00Z"}},
		{"rate of days in a zone", "rate(1 day)", "Asia/Tokyo", "2026-03-10T10:02:00Z", []string{"2026-03-10T15:00:00Z"}},
		{"rate of two days", "rate(2 days)", "", "2026-03-10T10:02:00Z", []string{"2026-03-12T00:00:00Z", "2026-03-14T00:00:00Z"}}, // even days since 1970-01-01: 2026-03-12 is day 20524
		{"AWS cron", "cron(0 12 ? * 2-6 *)", "", "2026-03-13T13:00:00Z", []string{"2026-03-16T12:00:00Z"}},                         // MON-FRI in AWS's numbers
		{"AWS cron with names", "cron(30 8 ? * SUN *)", "", "2026-03-10T00:00:00Z", []string{"2026-03-15T08:30:00Z"}},
		{"AWS cron Sunday is 1", "cron(0 0 ? * 1 *)", "", "2026-03-10T00:00:00Z", []string{"2026-03-15T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSchedule(tt.spec, tt.tz)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.spec, err)
			}
			from := at(tt.from)
			for _, w := range tt.want {
				got := s.Next(from)
				if !got.Equal(at(w)) {
					t.Fatalf("Next(%s) = %s, want %s", from.UTC().Format(time.RFC3339), got.UTC().Format(time.RFC3339), w)
				}
				from = got
			}
		})
	}
}

func TestRateOfDaysIsEveryNthDay(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule("rate(3 days)", "")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)
	prev := s.Next(from)
	for range 20 {
		next := s.Next(prev)
		if d := next.Sub(prev); d != 72*time.Hour {
			t.Fatalf("from %s to %s: %s, want 72h", prev, next, d)
		}
		prev = next
	}
}

func TestScheduleManualAndLatest(t *testing.T) {
	t.Parallel()
	m, err := ParseSchedule("manual", "")
	if err != nil || !m.Manual() || !m.Next(time.Now()).IsZero() {
		t.Fatalf("manual: %v, Manual %v", err, m.Manual())
	}
	if _, ok := m.Latest(time.Time{}, time.Now()); ok {
		t.Fatal("a manual job has a latest time")
	}
	s, err := ParseSchedule("*/10 * * * *", "")
	if err != nil || s.Manual() {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
	got, ok := s.Latest(base.Add(-time.Minute), base.Add(35*time.Minute))
	if !ok || !got.Equal(base.Add(30*time.Minute)) {
		t.Fatalf("Latest = %s %v, want 10:30", got, ok)
	}
	if _, ok := s.Latest(base, base.Add(5*time.Minute)); ok {
		t.Fatal("Latest found a time in (10:00, 10:05]")
	}
	if got, ok := s.Latest(base.Add(-time.Second), base); !ok || !got.Equal(base) {
		t.Fatalf("Latest = %s %v, want 10:00 (the end is included)", got, ok)
	}
}

func TestParseScheduleRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct{ spec, tz, want string }{
		{"", "", "the schedule is empty"},
		{"* * * *", "", "it has 4 fields, not 5"},
		{"* * * * * *", "", "it has 6 fields, not 5"},
		{"61 * * * *", "", "not a valid cron expression"},
		{"@every 1h", "", "use rate(...)"},
		{"CRON_TZ=UTC 0 3 * * *", "", `give the time zone in the job's "timezone"`},
		{"rate(5)", "", "it needs a number and a unit"},
		{"rate 5 minutes", "", "no parentheses"},
		{"rate(-1 minutes)", "", "not a whole number of at least 1"},
		{"rate(1 week)", "", `unit "week" is not minute(s), hour(s) or day(s)`},
		{"cron(0 3 * * ?)", "", "it has 5 fields, not 6"},
		{"cron(0 3 ? * 8 *)", "", "8 is out of range: AWS counts 1 (Sunday) to 7 (Saturday)"},
		{"cron(0 3 ? * 6#3 *)", "", "L, W and # in the day fields are not supported"},
		{"cron(0 3 15W * ? *)", "", "L, W and # in the day fields are not supported"},
		{"cron(0 3 * * ? 2027)", "", "the year field must be *"},
		{"cron(0 25 * * ? *)", "", "not a valid AWS cron expression"},
		{"0 3 * * *", "Nowhere/Land", `timezone "Nowhere/Land" is not a known IANA time zone`},
		{"0 3 * * *", "/etc/localtime", "is not a known IANA time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.spec+" "+tt.tz, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSchedule(tt.spec, tt.tz)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseSchedule(%q, %q) = %v, want an error containing %q", tt.spec, tt.tz, err, tt.want)
			}
		})
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"* * * * *", "rate(5 minutes)", "cron(0 12 ? * 2-6 *)", "manual", "@hourly", "0 3 * * MON"} {
		f.Add(s, "")
	}
	f.Add("0 9 * * *", "Europe/Paris")
	f.Fuzz(func(t *testing.T, spec, tz string) {
		s, err := ParseSchedule(spec, tz)
		if err != nil {
			return
		}
		from := time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("%q: Next(%s) = %s, not after", spec, from, n)
		}
	})
}
