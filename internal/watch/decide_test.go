package watch_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/liftoffhq/liftoff/internal/watch"
)

const (
	base     = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	shortSHA = "1a2b3c4"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	apiPaths := []string{"apps/api/**"}
	changes := func(paths ...string) *watch.ChangeSet { return watch.NewChangeSet(paths) }
	tests := []struct {
		name  string
		force bool
		svc   watch.Service
		want  watch.Decision
	}{
		{
			name:  "force",
			force: true,
			svc:   watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("docs/x.md")},
			want:  watch.Decision{Deploy: true, Reason: "forced (force=true)"},
		},
		{
			name:  "force before everything else",
			force: true,
			svc:   watch.Service{Base: "", BaseMissing: true, ConfigChanged: true},
			want:  watch.Decision{Deploy: true, Reason: "forced (force=true)"},
		},
		{
			name: "no watchPaths",
			svc:  watch.Service{Base: base, Changes: changes()},
			want: watch.Decision{Deploy: true, Reason: "no watchPaths: every change deploys it"},
		},
		{
			name: "empty watchPaths",
			svc:  watch.Service{WatchPaths: []string{}, Base: base, Changes: changes("docs/x.md")},
			want: watch.Decision{Deploy: true, Reason: "no watchPaths: every change deploys it"},
		},
		{
			name: "no watchPaths before first deployment",
			svc:  watch.Service{Base: ""},
			want: watch.Decision{Deploy: true, Reason: "no watchPaths: every change deploys it"},
		},
		{
			name: "first deployment",
			svc:  watch.Service{WatchPaths: apiPaths},
			want: watch.Decision{Deploy: true, Reason: "first deployment here"},
		},
		{
			name: "first deployment before config change",
			svc:  watch.Service{WatchPaths: apiPaths, ConfigChanged: true},
			want: watch.Decision{Deploy: true, Reason: "first deployment here"},
		},
		{
			name: "base missing",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, BaseMissing: true},
			want: watch.Decision{Deploy: true, Reason: "base commit " + shortSHA + " is no longer in the repository"},
		},
		{
			name: "base missing before config change",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, BaseMissing: true, ConfigChanged: true},
			want: watch.Decision{Deploy: true, Reason: "base commit " + shortSHA + " is no longer in the repository"},
		},
		{
			name: "short base shown as is",
			svc:  watch.Service{WatchPaths: apiPaths, Base: "abc", BaseMissing: true},
			want: watch.Decision{Deploy: true, Reason: "base commit abc is no longer in the repository"},
		},
		{
			name: "config changed",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, ConfigChanged: true, Changes: changes("docs/x.md")},
			want: watch.Decision{Deploy: true, Reason: "its configuration changed"},
		},
		{
			name: "config changed before a match",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, ConfigChanged: true, Changes: changes("apps/api/x.go")},
			want: watch.Decision{Deploy: true, Reason: "its configuration changed"},
		},
		{
			name: "matched one file",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("apps/api/main.go", "docs/x.md")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (1 file)", Matched: 1},
		},
		{
			name: "matched several files",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("apps/api/a.go", "apps/api/b.go", "apps/api/c/d.go", "apps/web/x")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (3 files)", Matched: 3},
		},
		{
			name: "matched several patterns",
			svc: watch.Service{
				WatchPaths: []string{"apps/api/**", "libs/**", "infra/**"},
				Base:       base,
				Changes:    changes("libs/a.go", "apps/api/a.go", "apps/api/b.go"),
			},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (2 files), libs/** (1 file)", Matched: 3},
		},
		{
			name: "pattern shown as written",
			svc:  watch.Service{WatchPaths: []string{"./apps/api/"}, Base: base, Changes: changes("apps/api/a.go")},
			want: watch.Decision{Deploy: true, Reason: "matched ./apps/api/ (1 file)", Matched: 1},
		},
		{
			name: "implicit double star",
			svc:  watch.Service{WatchPaths: []string{"!docs/**"}, Base: base, Changes: changes("docs/a.md", "src/a.go")},
			want: watch.Decision{Deploy: true, Reason: "matched ** (1 file)", Matched: 1},
		},
		{
			name: "excluded changes only",
			svc:  watch.Service{WatchPaths: []string{"apps/api/**", "!**/*.md"}, Base: base, Changes: changes("apps/api/README.md")},
			want: watch.Decision{Deploy: false, Reason: "no change matches its watchPaths (1 file changed since " + shortSHA + ")"},
		},
		{
			name: "no match",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("apps/web/a", "apps/web/b", "docs/c.md")},
			want: watch.Decision{Deploy: false, Reason: "no change matches its watchPaths (3 files changed since " + shortSHA + ")"},
		},
		{
			name: "no files changed",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes()},
			want: watch.Decision{Deploy: false, Reason: "no files changed since " + shortSHA},
		},
		{
			// git diff --no-renames lists a rename as the deletion of the old
			// path and the addition of the new one.
			name: "rename out of a watched folder",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("apps/api/legacy.go", "attic/legacy.go")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (1 file)", Matched: 1},
		},
		{
			name: "rename into a watched folder",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("libs/util.go", "apps/api/util.go")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (1 file)", Matched: 1},
		},
		{
			name: "rename within a watched folder",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("apps/api/a.go", "apps/api/b.go")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (2 files)", Matched: 2},
		},
		{
			name: "rename outside watched folders",
			svc:  watch.Service{WatchPaths: apiPaths, Base: base, Changes: changes("docs/a.md", "docs/b.md")},
			want: watch.Decision{Deploy: false, Reason: "no change matches its watchPaths (2 files changed since " + shortSHA + ")"},
		},
		{
			name: "deletion",
			svc:  watch.Service{WatchPaths: []string{"apps/api/**", "!apps/api/**/*_test.go"}, Base: base, Changes: changes("apps/api/gone.go")},
			want: watch.Decision{Deploy: true, Reason: "matched apps/api/** (1 file)", Matched: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.svc.ID = "api"
			tt.want.ServiceID = "api"
			got, err := watch.Decide(tt.force, []watch.Service{tt.svc})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("Decide\n got: %+v\nwant: %+v", got, []watch.Decision{tt.want})
			}
		})
	}
}

func TestDecideSeveralServices(t *testing.T) {
	t.Parallel()
	// Services diffed against the same base share one change set.
	shared := watch.NewChangeSet([]string{"apps/api/main.go", "libs/auth/token.go", "docs/index.md"})
	services := []watch.Service{
		{ID: "api", WatchPaths: []string{"apps/api/**", "libs/**"}, Base: base, Changes: shared},
		{ID: "web", WatchPaths: []string{"apps/web/**"}, Base: base, Changes: shared},
		{ID: "worker", WatchPaths: []string{"apps/worker/**"}, Base: "ffffffffff", Changes: watch.NewChangeSet([]string{"apps/worker/job.go"})},
		{ID: "docs", WatchPaths: []string{"docs/"}},
	}
	want := []watch.Decision{
		{ServiceID: "api", Deploy: true, Reason: "matched apps/api/** (1 file), libs/** (1 file)", Matched: 2},
		{ServiceID: "web", Deploy: false, Reason: "no change matches its watchPaths (3 files changed since " + shortSHA + ")"},
		{ServiceID: "worker", Deploy: true, Reason: "matched apps/worker/** (1 file)", Matched: 1},
		{ServiceID: "docs", Deploy: true, Reason: "first deployment here"},
	}
	got, err := watch.Decide(false, services)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decide\n got: %+v\nwant: %+v", got, want)
	}
	if got, err := watch.Decide(false, nil); err != nil || len(got) != 0 {
		t.Errorf("Decide(nil) = %v, %v", got, err)
	}
}

func TestDecideErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		force        bool
		svc          watch.Service
		want         string
		patternError bool
	}{
		{
			name:         "invalid pattern",
			svc:          watch.Service{ID: "api", WatchPaths: []string{"apps/**", "libs/**", "apps/[api"}, Base: base, Changes: watch.NewChangeSet(nil)},
			want:         `service "api": watchPaths[2] "apps/[api": unterminated character class`,
			patternError: true,
		},
		{
			name:         "invalid pattern even when forced",
			force:        true,
			svc:          watch.Service{ID: "api", WatchPaths: []string{"{"}},
			want:         `service "api": watchPaths[0] "{": "{" without a matching "}"`,
			patternError: true,
		},
		{
			name: "missing change set",
			svc:  watch.Service{ID: "api", WatchPaths: []string{"apps/**"}, Base: base},
			want: `service "api": no change set since base commit ` + shortSHA,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok := watch.Service{ID: "web", Base: base}
			got, err := watch.Decide(tt.force, []watch.Service{ok, tt.svc})
			if err == nil {
				t.Fatalf("Decide = %+v; want error %s", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var pe *watch.PatternError
			if errors.As(err, &pe) != tt.patternError {
				t.Errorf("errors.As(*PatternError) = %v, want %v", !tt.patternError, tt.patternError)
			}
		})
	}
}
