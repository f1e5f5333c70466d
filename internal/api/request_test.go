package api

import "testing"

// TestBodyEncoding: what encoding/json would quietly replace with U+FFFD is
// refused, and everything it keeps as sent is accepted.
func TestBodyEncoding(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, body string
		ok         bool
	}{
		{"plain", `{"name": "CI"}`, true},
		{"UTF-8 outside the BMP", `{"name": "CI 🚀"}`, true},
		{"a surrogate pair", `{"name": "CI \ud83d\ude80"}`, true},
		{"an escaped backslash before u", `{"name": "C:\\ud800"}`, true},
		{"a BMP escape", `{"name": "\u00e9\u0041"}`, true},
		{"an escape at the very end", `"\ud83d\ude80"`, true},
		{"invalid UTF-8", "{\"name\": \"\xc3\x28\"}", false},
		{"a lone high surrogate", `{"name": "\ud800"}`, false},
		{"a high surrogate at the end", `"\ud800`, false},
		{"two high surrogates", `{"name": "\ud83d\ud83d"}`, false},
		{"a lone low surrogate", `{"name": "\udfff"}`, false},
		{"a pair in the wrong order", `{"name": "\ude80\ud83d"}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkBodyEncoding([]byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("checkBodyEncoding(%q) = %v, want ok %v", c.body, err, c.ok)
			}
		})
	}
}
