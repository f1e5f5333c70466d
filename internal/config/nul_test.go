package config

import (
	"errors"
	"testing"
)

// PostgreSQL text holds no NUL byte: a name from liftoff.json that carries
// one made project creation and sync answer 500, and deployments end ERROR
// with PostgreSQL's own message, while SQLite stored it. The file is the
// repository's, so the parser must refuse it, naming the field, for both
// stores alike.
func TestParseRefusesNULInStrings(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"environments":[{"id":"production","name":"Prod\u0000","source":{"branch":"main"},"services":[{"id":"w","type":"worker","startCommand":"x"}]}]}`,
		`{"environments":[{"id":"production","source":{"branch":"main"},"services":[{"id":"w","name":"W\u0000","type":"worker","startCommand":"x"}]}]}`,
		`{"environments":[{"id":"production","source":{"branch":"main"},"services":[{"id":"w","type":"worker","startCommand":"x","envVariables":{"A":"a\u0000b"}}]}]}`,
	} {
		_, _, err := Parse([]byte(doc))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%s) = %v, want an error naming the string with a NUL byte", doc, err)
		}
	}
}
