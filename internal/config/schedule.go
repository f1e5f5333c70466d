package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a job's timezone must read the same on every host

	"github.com/robfig/cron/v3"
)

// ScheduleManual is the schedule of a job that runs only when asked
// (through the API or the CLI).
const ScheduleManual = "manual"

// Schedule is when a scheduler service's job runs, read from its
// "schedule" and "timezone" by ParseSchedule. Its times are the same on
// every replica and after every restart: they depend on the schedule and
// the clock only, never on when Liftoff started, so that replicas agree
// on which run is due.
type Schedule struct {
	spec string
	loc  *time.Location
	// next is the first time strictly after t; nil for a manual job.
	next func(t time.Time) time.Time
}

// cronParser reads the five-field form and the descriptors (@hourly ...).
// @every is refused before it is used: its times depend on when it is read.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule reads a job's schedule, in one of the forms Flightcontrol
// takes:
//
//   - "manual": the job never runs by itself;
//   - five cron fields, "minute hour day-of-month month day-of-week" ("*/5 * * * *",
//     "0 3 * * MON-FRI"), or a descriptor (@yearly, @monthly, @weekly,
//     @daily, @hourly);
//   - "rate(N unit)", unit minute(s), hour(s) or day(s): every N units,
//     counted from 1970-01-01 00:00 in the timezone (rate(15 minutes)
//     runs at :00, :15, :30 and :45; rate(2 days) at midnight every other
//     day);
//   - "cron(minute hour day-of-month month day-of-week year)", AWS's
//     six-field form: day-of-week counts 1 (Sunday) to 7, '?' means any,
//     and the year must be '*' (L, W and # are not supported).
//
// timezone is an IANA name ("Europe/Paris"); empty means UTC. The error
// says what is wrong, for a message that names the job.
func ParseSchedule(spec, timezone string) (Schedule, error) {
	loc := time.UTC
	if timezone != "" {
		l, err := time.LoadLocation(timezone)
		if err != nil || strings.HasPrefix(timezone, "/") || strings.Contains(timezone, "..") {
			return Schedule{}, fmt.Errorf("timezone %q is not a known IANA time zone (such as \"UTC\" or \"Europe/Paris\")", timezone)
		}
		loc = l
	}
	s := Schedule{spec: spec, loc: loc}
	trimmed := strings.TrimSpace(spec)
	switch {
	case trimmed == ScheduleManual:
		return s, nil
	case trimmed == "":
		return Schedule{}, errors.New(`the schedule is empty: give cron fields ("0 3 * * *"), rate(...), cron(...) or "manual"`)
	case strings.HasPrefix(trimmed, "rate(") || strings.HasPrefix(trimmed, "rate "):
		next, err := parseRate(trimmed, loc)
		if err != nil {
			return Schedule{}, err
		}
		s.next = next
		return s, nil
	case strings.HasPrefix(trimmed, "cron(") || strings.HasPrefix(trimmed, "cron "):
		five, err := awsCron(trimmed)
		if err != nil {
			return Schedule{}, err
		}
		next, err := parseCron(five, loc)
		if err != nil {
			return Schedule{}, fmt.Errorf("%q is not a valid AWS cron expression: %s", trimmed, err.Error())
		}
		s.next = next
		return s, nil
	}
	lower := strings.ToLower(trimmed)
	switch {
	case strings.HasPrefix(lower, "@every"):
		return Schedule{}, fmt.Errorf("%q is not supported: use rate(...) (\"rate(5 minutes)\"), whose times are the same on every replica", trimmed)
	case strings.HasPrefix(lower, "cron_tz=") || strings.HasPrefix(lower, "tz="):
		return Schedule{}, fmt.Errorf("%q: give the time zone in the job's \"timezone\", not in the schedule", trimmed)
	}
	next, err := parseCron(trimmed, loc)
	if err != nil {
		return Schedule{}, fmt.Errorf("%q is not a valid cron expression (minute hour day-of-month month day-of-week, as in \"*/15 * * * *\"): %s", trimmed, err.Error())
	}
	s.next = next
	return s, nil
}

// parseCron reads five cron fields or a descriptor, in loc.
func parseCron(spec string, loc *time.Location) (func(time.Time) time.Time, error) {
	if n := len(strings.Fields(spec)); !strings.HasPrefix(spec, "@") && n != 5 {
		return nil, fmt.Errorf("it has %d fields, not 5", n)
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, err
	}
	spec2, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, errors.New("only fixed times are supported")
	}
	spec2.Location = loc
	return func(t time.Time) time.Time {
		// The library's Next gives up (zero) after five years without a
		// match (February 30th): such a job never runs.
		return spec2.Next(t)
	}, nil
}

// awsCron turns AWS's cron(minute hour dom month dow year) into the five
// standard fields.
func awsCron(spec string) (string, error) {
	inner, ok := strings.CutPrefix(spec, "cron")
	inner = strings.TrimSpace(inner)
	if !ok || !strings.HasPrefix(inner, "(") || !strings.HasSuffix(inner, ")") {
		return "", fmt.Errorf("%q is not a valid AWS cron expression: write cron(minute hour day-of-month month day-of-week year)", spec)
	}
	fields := strings.Fields(inner[1 : len(inner)-1])
	if len(fields) != 6 {
		return "", fmt.Errorf("%q is not a valid AWS cron expression: it has %d fields, not 6 (minute hour day-of-month month day-of-week year)", spec, len(fields))
	}
	// No weekday name holds an L or a #; WED holds a W.
	if strings.ContainsAny(strings.ToUpper(fields[2]), "LW#") || strings.ContainsAny(strings.ToUpper(fields[4]), "L#") {
		return "", fmt.Errorf("%q: L, W and # in the day fields are not supported on Liftoff", spec)
	}
	if fields[5] != "*" && fields[5] != "?" {
		return "", fmt.Errorf("%q: the year field must be *: Liftoff does not schedule by year", spec)
	}
	dow, err := awsWeekdays(fields[4])
	if err != nil {
		return "", fmt.Errorf("%q is not a valid AWS cron expression: day-of-week %s", spec, err.Error())
	}
	return strings.Join([]string{fields[0], fields[1], fields[2], fields[3], dow}, " "), nil
}

// awsWeekdays turns AWS's day-of-week numbers (1 = Sunday ... 7 =
// Saturday) into cron's (0 = Sunday ... 6); names stay.
func awsWeekdays(f string) (string, error) {
	if f == "?" || f == "*" {
		return "*", nil
	}
	var out []string
	for _, item := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		lo, hi, isRange := strings.Cut(rng, "-")
		conv := func(s string) (string, error) {
			if s == "*" {
				return s, nil
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return s, nil // a name (MON); the parser checks it
			}
			if n < 1 || n > 7 {
				return "", fmt.Errorf("%d is out of range: AWS counts 1 (Sunday) to 7 (Saturday)", n)
			}
			return strconv.Itoa(n - 1), nil
		}
		a, err := conv(lo)
		if err != nil {
			return "", err
		}
		part := a
		if isRange {
			b, err := conv(hi)
			if err != nil {
				return "", err
			}
			part += "-" + b
		}
		if hasStep {
			part += "/" + step
		}
		out = append(out, part)
	}
	return strings.Join(out, ","), nil
}

// parseRate reads rate(N unit).
func parseRate(spec string, loc *time.Location) (func(time.Time) time.Time, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid rate: %s; write rate(N minutes), rate(N hours) or rate(N days), as in rate(5 minutes)", spec, why)
	}
	inner, _ := strings.CutPrefix(spec, "rate")
	inner = strings.TrimSpace(inner)
	if !strings.HasPrefix(inner, "(") || !strings.HasSuffix(inner, ")") {
		return nil, bad("no parentheses")
	}
	fields := strings.Fields(inner[1 : len(inner)-1])
	if len(fields) != 2 {
		return nil, bad("it needs a number and a unit")
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return nil, bad(fmt.Sprintf("%q is not a whole number of at least 1", fields[0]))
	}
	switch fields[1] {
	case "minute", "minutes":
		return every(time.Duration(n) * time.Minute), nil
	case "hour", "hours":
		return every(time.Duration(n) * time.Hour), nil
	case "day", "days":
		return everyDays(n, loc), nil
	}
	return nil, bad(fmt.Sprintf("unit %q is not minute(s), hour(s) or day(s)", fields[1]))
}

// every returns the multiples of d since the Unix epoch.
func every(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time {
		return t.Truncate(d).Add(d)
	}
}

// everyDays returns midnight in loc of every n-th day since 1970-01-01.
func everyDays(n int, loc *time.Location) func(time.Time) time.Time {
	return func(t time.Time) time.Time {
		lt := t.In(loc)
		day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
		// Days counted on the calendar, not in 24-hour steps, so that a
		// change of daylight saving time moves nothing.
		days := int(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		next := day.AddDate(0, 0, (n-days%n)%n)
		if !next.After(t) {
			next = next.AddDate(0, 0, n)
		}
		return next
	}
}

// Manual reports whether the job runs only when asked.
func (s Schedule) Manual() bool { return s.next == nil }

// String is the schedule as the file gives it.
func (s Schedule) String() string { return s.spec }

// Location is the schedule's time zone.
func (s Schedule) Location() *time.Location { return s.loc }

// Next returns the first time of the schedule strictly after t, or the
// zero time when there is none (a manual job, or a date that never comes).
func (s Schedule) Next(t time.Time) time.Time {
	if s.next == nil {
		return time.Time{}
	}
	return s.next(t)
}

// Latest returns the last time of the schedule in (after, upTo], if any.
func (s Schedule) Latest(after, upTo time.Time) (time.Time, bool) {
	n := s.Next(after)
	if n.IsZero() || n.After(upTo) {
		return time.Time{}, false
	}
	for {
		m := s.Next(n)
		if m.IsZero() || m.After(upTo) {
			return n, true
		}
		n = m
	}
}
