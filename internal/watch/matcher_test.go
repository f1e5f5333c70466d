package watch_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/liftoffhq/liftoff/internal/watch"
)

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		want     string
	}{
		{"unterminated class", []string{"apps/**", "libs/**", "apps/[api"}, `watchPaths[2] "apps/[api": unterminated character class`},
		{"class open at end", []string{"apps/["}, `watchPaths[0] "apps/[": unterminated character class`},
		{"negated class open at end", []string{"apps/[!"}, `watchPaths[0] "apps/[!": unterminated character class`},
		{"escaped end of class", []string{`apps/[a\]`}, `watchPaths[0] "apps/[a\\]": unterminated character class`},
		{"empty class", []string{"apps/[]api"}, `watchPaths[0] "apps/[]api": empty character class`},
		{"empty negated class", []string{"apps/[^]api"}, `watchPaths[0] "apps/[^]api": empty character class`},
		{"unclosed alternatives", []string{"apps/{api,web"}, `watchPaths[0] "apps/{api,web": "{" without a matching "}"`},
		{"unclosed nested alternatives", []string{"{a,{b,c}"}, `watchPaths[0] "{a,{b,c}": "{" without a matching "}"`},
		{"stray closing brace", []string{"apps/api}"}, `watchPaths[0] "apps/api}": "}" without a matching "{"`},
		{"trailing backslash", []string{`apps\`}, `watchPaths[0] "apps\\": trailing "\" escapes nothing`},
		{"empty", []string{"apps/**", ""}, `watchPaths[1] "": empty pattern`},
		{"lone exclamation mark", []string{"!"}, `watchPaths[0] "!": empty pattern`},
		{"dot is valid though it matches no git path", []string{"."}, ""},
		{"first invalid wins", []string{"[", "{"}, `watchPaths[0] "[": unterminated character class`},
		{"exclusion names as written", []string{"!./docs/[x"}, `watchPaths[0] "!./docs/[x": unterminated character class`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := watch.Compile(tt.patterns)
			if tt.want == "" {
				if err != nil || m == nil {
					t.Fatalf("Compile(%q) = %v, %v; want a matcher", tt.patterns, m, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Compile(%q) succeeded; want error %s", tt.patterns, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Compile(%q) error\n got: %s\nwant: %s", tt.patterns, err, tt.want)
			}
			var pe *watch.PatternError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *PatternError", err)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		path     string
		want     bool
	}{
		// literal patterns and directories
		{"literal file", []string{"apps/api/main.go"}, "apps/api/main.go", true},
		{"literal is not a directory", []string{"apps/api"}, "apps/api/main.go", false},
		{"literal matches the file of that name", []string{"apps/api"}, "apps/api", true},
		{"literal is not a prefix", []string{"apps/api"}, "apps/api2", false},
		{"literal is case-sensitive", []string{"Apps/api/main.go"}, "apps/api/main.go", false},
		{"no patterns watch nothing", nil, "apps/api/main.go", false},

		// *
		{"star within a segment", []string{"apps/*.go"}, "apps/main.go", true},
		{"star does not cross slash", []string{"apps/*.go"}, "apps/api/main.go", false},
		{"star matches empty", []string{"apps/main*.go"}, "apps/main.go", true},
		{"star matches a dotfile", []string{"*"}, ".env", true},
		{"top-level star only top level", []string{"*"}, "apps/main.go", false},
		{"double star mid-segment is a star", []string{"apps/**.go"}, "apps/api/main.go", false},
		{"double star mid-segment in its segment", []string{"apps/**.go"}, "apps/main.go", true},

		// **
		{"double star everything", []string{"**"}, "a/b/c/d.txt", true},
		{"double star top-level file", []string{"**"}, "README.md", true},
		{"double star dot directory", []string{"**"}, ".github/workflows/ci.yml", true},
		{"double star suffix in dot directory", []string{"**/*.yml"}, ".github/workflows/ci.yml", true},
		{"double star under dir", []string{"apps/api/**"}, "apps/api/internal/x/y.go", true},
		{"double star under dir matches the dir itself", []string{"apps/api/**"}, "apps/api", true},
		{"double star under dir not a sibling", []string{"apps/api/**"}, "apps/api2/main.go", false},
		{"double star zero directories", []string{"**/*.proto"}, "a.proto", true},
		{"double star many directories", []string{"**/*.proto"}, "x/y/z/a.proto", true},
		{"double star wrong extension", []string{"**/*.proto"}, "x/y/z/a.proto.go", false},
		{"double star in the middle zero dirs", []string{"apps/**/main.go"}, "apps/main.go", true},
		{"double star in the middle many dirs", []string{"apps/**/main.go"}, "apps/a/b/main.go", true},
		{"double star then literal file", []string{"**/Dockerfile"}, "Dockerfile", true},
		{"double star then literal file nested", []string{"**/Dockerfile"}, "apps/api/Dockerfile", true},
		{"double star then literal is not a suffix", []string{"**/Dockerfile"}, "apps/api/MyDockerfile", false},

		// ?
		{"question mark one char", []string{"apps/api?/x"}, "apps/api2/x", true},
		{"question mark not zero chars", []string{"apps/api?/x"}, "apps/api/x", false},
		{"question mark not slash", []string{"apps?x"}, "apps/x", false},
		{"question mark one rune", []string{"caf?/menu"}, "café/menu", true},

		// [...]
		{"class member", []string{"v[123].txt"}, "v2.txt", true},
		{"class non-member", []string{"v[123].txt"}, "v4.txt", false},
		{"class range", []string{"v[a-c].txt"}, "vb.txt", true},
		{"class negated with !", []string{"v[!a-c].txt"}, "vb.txt", false},
		{"class negated with ^", []string{"v[^a-c].txt"}, "vd.txt", true},
		{"class escaped bracket", []string{`v[\]].txt`}, "v].txt", true},
		{"class never slash via negation", []string{"a[!x]b"}, "a/b", true},

		// {a,b}
		{"alternatives first", []string{"apps/{api,web}/**"}, "apps/api/main.go", true},
		{"alternatives second", []string{"apps/{api,web}/**"}, "apps/web/index.html", true},
		{"alternatives neither", []string{"apps/{api,web}/**"}, "apps/worker/main.go", false},
		{"alternatives nested", []string{"{apps/{api,web},libs}/**"}, "libs/x.go", true},
		{"alternatives with empty", []string{"main{,_test}.go"}, "main_test.go", true},
		{"alternatives with slashes", []string{"{a/b,c}/x"}, "a/b/x", true},

		// escapes
		{"escaped star is literal", []string{`docs/\*.md`}, "docs/*.md", true},
		{"escaped star is not a star", []string{`docs/\*.md`}, "docs/a.md", false},
		{"escaped exclamation mark is literal", []string{`\!important`}, "!important", true},
		{"slash then exclamation mark is literal", []string{"/!important"}, "!important", true},

		// leading ./ and /, trailing /
		{"leading dot slash", []string{"./apps/api/**"}, "apps/api/main.go", true},
		{"leading slash", []string{"/apps/api/**"}, "apps/api/main.go", true},
		{"repeated leading dot slash", []string{".//./apps/**"}, "apps/x", true},
		{"leading dot slash in exclusion", []string{"**", "!./docs/**"}, "docs/a.md", false},
		{"leading slash in exclusion", []string{"**", "!/docs/**"}, "docs/a.md", false},
		{"trailing slash is the directory", []string{"apps/api/"}, "apps/api/internal/x.go", true},
		{"trailing slash with leading slash", []string{"/apps/api/"}, "apps/api/main.go", true},
		{"trailing slash not a sibling", []string{"apps/api/"}, "apps/api2/main.go", false},
		{"lone slash is everything", []string{"/"}, "a/b.go", true},
		{"lone dot slash is everything", []string{"./"}, "README.md", true},
		{"dot matches no git path", []string{"."}, "README.md", false},
		{"exclusion of trailing slash", []string{"apps/**", "!apps/api/"}, "apps/api/x.go", false},

		// ! and order
		{"exclusion after inclusion", []string{"apps/**", "!apps/**/*.md"}, "apps/api/README.md", false},
		{"exclusion leaves the rest", []string{"apps/**", "!apps/**/*.md"}, "apps/api/main.go", true},
		{"re-inclusion after exclusion", []string{"apps/**", "!apps/**/*.md", "apps/api/README.md"}, "apps/api/README.md", true},
		{"inclusion before exclusion loses", []string{"apps/api/README.md", "apps/**", "!apps/**/*.md"}, "apps/api/README.md", false},
		{"exclusion only: implicit double star", []string{"!docs/**"}, "apps/api/main.go", true},
		{"exclusion only: excluded", []string{"!docs/**"}, "docs/index.md", false},
		{"exclusions only: both excluded", []string{"!docs/**", "!*.md"}, "README.md", false},
		{"exclusion first then inclusion", []string{"!docs/**", "docs/api/**"}, "docs/api/x.md", true},
		{"exclusion not first: no implicit", []string{"apps/**", "!docs/**"}, "libs/x.go", false},
		{"double exclamation is an exclusion of !x", []string{"!!x"}, "!x", false},
		{"double exclamation implicit double star", []string{"!!x"}, "x", true},

		// unicode and spaces
		{"unicode literal", []string{"docs/café/menu.md"}, "docs/café/menu.md", true},
		{"unicode under dir", []string{"docs/日本語/**"}, "docs/日本語/a b.md", true},
		{"unicode class", []string{"[éè]t[éè]"}, "été", true},
		{"spaces", []string{"My Docs/**/*.md"}, "My Docs/x/Read Me.md", true},
		{"spaces are literal", []string{"My Docs/**"}, "MyDocs/x", false},
		{"replacement char is not a wildcard for other runes", []string{"a\uFFFDb"}, "a\u00e9b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := watch.Compile(tt.patterns)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.patterns, err)
			}
			if got := m.Match(tt.path); got != tt.want {
				t.Errorf("Compile(%q).Match(%q) = %v, want %v", tt.patterns, tt.path, got, tt.want)
			}
			// The change set path must agree with Match.
			r := m.Filter(watch.NewChangeSet([]string{tt.path}))
			if got := len(r.Paths) == 1; got != tt.want {
				t.Errorf("Compile(%q).Filter([%q]).Paths = %q, want watched=%v", tt.patterns, tt.path, r.Paths, tt.want)
			}
			// And so must the naive reference.
			n, ok := compileNaive(tt.patterns)
			if !ok {
				t.Fatalf("reference rejects %q", tt.patterns)
			}
			if got := n.match(tt.path); got != tt.want {
				t.Errorf("reference match of %q against %q = %v, want %v", tt.path, tt.patterns, got, tt.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	changed := []string{
		"apps/api/main.go",
		"apps/api/README.md",
		"apps/api/handlers/users.go",
		"apps/web/index.html",
		"libs/auth/token.go",
		"docs/index.md",
		"apps/api/main.go", // duplicates count once
	}
	tests := []struct {
		name     string
		patterns []string
		want     watch.Result
	}{
		{
			name:     "one pattern",
			patterns: []string{"apps/api/**"},
			want: watch.Result{
				Paths:    []string{"apps/api/README.md", "apps/api/handlers/users.go", "apps/api/main.go"},
				Patterns: []watch.PatternCount{{Index: 0, Pattern: "apps/api/**", Files: 3}},
			},
		},
		{
			name:     "several patterns in watchPaths order",
			patterns: []string{"libs/**", "./apps/api/", "!**/*.md"},
			want: watch.Result{
				Paths: []string{"apps/api/handlers/users.go", "apps/api/main.go", "libs/auth/token.go"},
				Patterns: []watch.PatternCount{
					{Index: 0, Pattern: "libs/**", Files: 1},
					{Index: 1, Pattern: "./apps/api/", Files: 2},
				},
			},
		},
		{
			name:     "the last match decides the count",
			patterns: []string{"**", "apps/**"},
			want: watch.Result{
				Paths: []string{"apps/api/README.md", "apps/api/handlers/users.go", "apps/api/main.go", "apps/web/index.html", "docs/index.md", "libs/auth/token.go"},
				Patterns: []watch.PatternCount{
					{Index: 0, Pattern: "**", Files: 2},
					{Index: 1, Pattern: "apps/**", Files: 4},
				},
			},
		},
		{
			name:     "implicit double star",
			patterns: []string{"!apps/**", "!libs/**"},
			want: watch.Result{
				Paths:    []string{"docs/index.md"},
				Patterns: []watch.PatternCount{{Index: -1, Pattern: "**", Files: 1}},
			},
		},
		{
			name:     "nothing watched",
			patterns: []string{"infra/**"},
			want:     watch.Result{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := watch.Compile(tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Filter(watch.NewChangeSet(changed)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter\n got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}

func TestNewChangeSet(t *testing.T) {
	t.Parallel()
	in := []string{"b", "a", "b", "c/d"}
	cs := watch.NewChangeSet(in)
	if cs.Len() != 3 {
		t.Errorf("Len = %d, want 3 (duplicates dropped)", cs.Len())
	}
	if !reflect.DeepEqual(in, []string{"b", "a", "b", "c/d"}) {
		t.Errorf("NewChangeSet modified its argument: %q", in)
	}
	var none *watch.ChangeSet
	if none.Len() != 0 {
		t.Errorf("nil Len = %d", none.Len())
	}
	m, err := watch.Compile([]string{"**"})
	if err != nil {
		t.Fatal(err)
	}
	if r := m.Filter(nil); len(r.Paths) != 0 || len(r.Patterns) != 0 {
		t.Errorf("Filter(nil) = %+v", r)
	}
}

// TestDoublestarRevalidation pins why the package matches with
// doublestar.MatchUnvalidated after validating each pattern once: Match
// re-validates the rest of a pattern from where a mismatch happened, which
// can start inside a character class.
func TestDoublestarRevalidation(t *testing.T) {
	t.Parallel()
	if _, err := doublestar.Match("[!0[]", "0"); err == nil {
		t.Log("doublestar.Match no longer reports [!0[] as bad; the workaround can go")
	}
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"[!0[]", "0", false},
		{"[!0[]", "1", true},
		{"{[!0[],0}", "0", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			m, err := watch.Compile([]string{tt.pattern})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(tt.path); got != tt.want {
				t.Errorf("Match(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}
