package redact

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/token"
)

var secretShape = regexp.MustCompile(token.Pattern)

func TestScrubberString(t *testing.T) {
	t.Parallel()
	hook, key := token.New(token.HookPrefix), token.New(token.APIKeyPrefix)
	for _, c := range []struct {
		name   string
		values []string
		in     string
		want   string
	}{
		{name: "URL", in: "curl https://x/api/deploy-hook/1/" + hook + "?force=1", want: "curl https://x/api/deploy-hook/1/lfh_[REDACTED]?force=1"},
		{name: "variable", in: "LIFTOFF_API_KEY=" + key, want: "LIFTOFF_API_KEY=lfk_[REDACTED]"},
		{name: "word_secret", in: "TOKEN_" + hook + " set", want: "TOKEN_lfh_[REDACTED] set"},
		{name: "secret followed by word characters", in: hook + "x", want: "lfh_[REDACTED]x"},
		{name: "inside a word", in: "A" + key + "b_c", want: "Alfk_[REDACTED]b_c"},
		{name: "two touching", in: hook + hook, want: "lfh_[REDACTED]lfh_[REDACTED]"},
		{name: "prefix twice", in: "lfh_" + hook, want: "lfh_lfh_[REDACTED]"},
		{name: "too short", in: "lfh_abc", want: "lfh_abc"},
		{name: "uppercase is no secret", in: strings.ToUpper(hook), want: strings.ToUpper(hook)},
		{name: "value", values: []string{"hunter2-password"}, in: "DB_PASSWORD=hunter2-password;", want: "DB_PASSWORD=[REDACTED];"},
		{name: "value inside a word", values: []string{"s3cr3t"}, in: "xs3cr3ty", want: "x[REDACTED]y"},
		{name: "longer value wins", values: []string{"abc", "abcdef"}, in: "abcdef abc", want: "[REDACTED] [REDACTED]"},
		{name: "value of several lines", values: []string{"line-one\nline-two\n"}, in: "a line-two b line-one", want: "a [REDACTED] b [REDACTED]"},
		{name: "regexp characters in a value", values: []string{"a.b*c"}, in: "aXb a.b*c", want: "aXb [REDACTED]"},
		{name: "values and shapes", values: []string{"pw"}, in: "pw " + hook, want: "[REDACTED] lfh_[REDACTED]"},
		{name: "empty values are ignored", values: []string{"", "\n"}, in: "text", want: "text"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := New(c.values...).String(c.in); got != c.want {
				t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	hook, key := token.New(token.HookPrefix), token.New(token.APIKeyPrefix)
	for _, c := range []struct{ name, in, want string }{
		{"in a URL", "curl https://x/api/deploy-hook/1/" + hook + "?force=1", "curl https://x/api/deploy-hook/1/lfh_[REDACTED]?force=1"},
		{"after =", "LIFTOFF_API_KEY=" + key, "LIFTOFF_API_KEY=lfk_[REDACTED]"},
		{"two", "two " + hook + " " + hook, "two lfh_[REDACTED] lfh_[REDACTED]"},
		{"after a word and _", "TOKEN_" + hook, "TOKEN_lfh_[REDACTED]"},
		{"before word characters", hook + "xyz", "lfh_[REDACTED]xyz"},
		{"inside a word", "abc" + key + "def", "abclfk_[REDACTED]def"},
		{"twice, touching", hook + key, "lfh_[REDACTED]lfk_[REDACTED]"},
		{"not a secret", "lfh_short is not a secret", "lfh_short is not a secret"},
		{"plain", "plain", "plain"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Secrets(c.in); got != c.want {
				t.Errorf("Secrets(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// FuzzString checks that nothing String returns holds a whole secret,
// whatever surrounds the secrets in the input.
func FuzzString(f *testing.F) {
	hook := token.New(token.HookPrefix)
	f.Add("", "", uint8(0))
	f.Add("TOKEN_", "x", uint8(3))
	f.Add("lfh_", "abc", uint8(1))
	f.Add("lfh_aaaa", "lfk_", uint8(2))
	f.Add(hook[:20], hook[20:], uint8(5))
	f.Fuzz(func(t *testing.T, before, after string, n uint8) {
		secrets := []string{token.New(token.HookPrefix), token.New(token.APIKeyPrefix)}
		var in strings.Builder
		in.WriteString(before)
		for i := range int(n % 4) {
			in.WriteString(secrets[i%2])
			in.WriteString(after)
		}
		in.WriteString(before + after)
		for _, s := range []*Scrubber{nil, New("value-" + after)} {
			out := s.String(in.String())
			if m := secretShape.FindString(out); m != "" {
				t.Fatalf("String(%q) = %q: holds %q", in.String(), out, m)
			}
			for _, secret := range secrets {
				if strings.Contains(out, secret) {
					t.Fatalf("String(%q) = %q: holds a secret", in.String(), out)
				}
			}
		}
	})
}

func TestCut(t *testing.T) {
	t.Parallel()
	secret := token.New(token.HookPrefix)
	const at = 100
	for off := at - len(secret) - 2; off <= at+2; off++ {
		b := []byte(strings.Repeat("x", off) + secret + strings.Repeat("y", 200))
		cut := (*Scrubber)(nil).Cut(b, at)
		spans := off < at && off+len(secret) > at
		switch {
		case spans && cut != off:
			t.Errorf("secret at %d spans %d: Cut = %d, want %d", off, at, cut, off)
		case !spans && cut != at:
			t.Errorf("secret at %d: Cut = %d, want %d", off, cut, at)
		}
	}
}

// TestWriterEveryOffset writes a long run without a line break holding a
// secret at every offset around the place Writer cuts it, in parts of
// several sizes: what reaches the file is the input scrubbed, and no part
// written holds a secret.
func TestWriterEveryOffset(t *testing.T) {
	t.Parallel()
	secret := token.New(token.APIKeyPrefix)
	rng := rand.New(rand.NewPCG(1, 2))
	for off := MaxPending - len(secret) - 2; off <= MaxPending+2; off++ {
		for _, part := range []int{1 << 30, 4096, 1000 + rng.IntN(5000)} {
			in := strings.Repeat("a", off) + secret + strings.Repeat("b", MaxPending) + "\nend " + secret + "\n"
			var out recorder
			w := NewWriter(&out, nil)
			for rest := in; rest != ""; {
				n := min(part, len(rest))
				if _, err := w.Write([]byte(rest[:n])); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if want := (*Scrubber)(nil).String(in); out.String() != want {
				t.Fatalf("secret at %d, parts of %d: the file differs from the scrubbed input", off, part)
			}
			for _, p := range out.parts {
				if bytes.Contains(p, []byte(secret)) || secretShape.Match(p) {
					t.Fatalf("secret at %d, parts of %d: a write held the secret", off, part)
				}
			}
		}
	}
}

func TestWriterHoldsLittle(t *testing.T) {
	t.Parallel()
	var out recorder
	w := NewWriter(&out, nil)
	chunk := bytes.Repeat([]byte("z"), 64<<10)
	for range 64 { // 4 MiB without a line break
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if held := len(w.buf); held >= MaxPending+token.Len {
			t.Fatalf("Writer holds %d bytes", held)
		}
	}
	_, _ = w.Write([]byte("partial"))
	if strings.HasSuffix(out.String(), "partial") {
		t.Fatal("an unfinished line was written before its end or Close")
	}
	_ = w.Close()
	if !strings.HasSuffix(out.String(), "partial") || out.Len() != 64*len(chunk)+len("partial") {
		t.Fatalf("after Close the file has %d bytes", out.Len())
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// recorder keeps what it is written, and each write apart.
type recorder struct {
	bytes.Buffer
	parts [][]byte
}

func (r *recorder) Write(p []byte) (int, error) {
	r.parts = append(r.parts, append([]byte(nil), p...))
	return r.Buffer.Write(p)
}

func BenchmarkString(b *testing.B) {
	// 100 bytes, as a service logs a request.
	line := "2026-12-01T10:00:00.123Z info GET /api/orders/1234 200 3.2ms user=alice request_id=7f3a9c1e-55aa-4f0"
	if len(line) != 100 {
		b.Fatalf("the typical line has %d bytes", len(line))
	}
	for _, c := range []struct {
		name string
		s    *Scrubber
		in   string
	}{
		{"typical line", nil, line},
		{"typical line, with values", New("hunter2-password", "another-secret-value"), line},
		{"line with a secret", nil, line + " " + token.New(token.HookPrefix)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				_ = c.s.String(c.in)
			}
		})
	}
}
