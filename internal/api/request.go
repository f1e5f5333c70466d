package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/liftoffhq/liftoff/internal/fail"
)

// maxBody bounds JSON request bodies.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields so a typo is an
// error and not a silently ignored setting. An empty body decodes as {}.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fail.New(fail.Invalid, "the request body did not arrive within the server's read timeout; send it at once")
	}
	if err != nil {
		return fail.New(fail.Invalid, "could not read the request body: "+err.Error())
	}
	if len(body) > maxBody {
		return fail.Invalidf("the request body is larger than %d bytes", maxBody)
	}
	if strings.TrimSpace(string(body)) == "" {
		body = []byte("{}")
	}
	if err := checkBodyEncoding(body); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fail.Invalidf("the request body is not valid JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return fail.Invalidf("%s must be a JSON %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fail.New(fail.Invalid, "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field ")+" in the request body")
		}
		return fail.New(fail.Invalid, "the request body is not valid JSON: "+err.Error())
	}
	if dec.More() {
		return fail.New(fail.Invalid, "the request body must hold one JSON object")
	}
	return checkBodyText(v)
}

// checkBodyEncoding refuses a body that is not valid UTF-8 or that escapes
// half of a UTF-16 surrogate pair (such as "\ud800" alone). encoding/json
// would quietly turn either into U+FFFD, so a name would be stored other
// than it was sent; refusing it says so instead.
func checkBodyEncoding(body []byte) error {
	if !utf8.Valid(body) {
		return fail.New(fail.Invalid, "the request body must be valid UTF-8")
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' || i+1 >= len(body) {
			continue
		}
		i++ // the escaped character: never the start of another escape
		if body[i] != 'u' {
			continue
		}
		r, ok := hex4(body, i+1)
		if !ok || !utf16.IsSurrogate(r) {
			continue
		}
		low, ok := rune(0), false
		if i+6 < len(body) && body[i+5] == '\\' && body[i+6] == 'u' {
			low, ok = hex4(body, i+7)
		}
		if r >= 0xdc00 || !ok || low < 0xdc00 || low > 0xdfff {
			return fail.New(fail.Invalid, fmt.Sprintf("the request body holds half of a UTF-16 surrogate pair (%s) at byte %d: "+
				"escape a character outside the Basic Multilingual Plane as a high and a low surrogate, or send it as UTF-8", body[i-1:i+5], i-1))
		}
		i += 10 // past the low surrogate's escape
	}
	return nil
}

// hex4 reads the four hex digits of a \u escape starting at body[i].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[i:i+4]), 16, 32)
	return rune(n), err == nil
}

// liftDeadlines lifts the server's read and write deadlines of an answer
// that may rightly take longer than they allow: a stream that lasts as long
// as a deployment, or a call that first fetches a repository. The server's
// write timeout would otherwise cut the answer off while it is being sent
// (or before it is), though the work behind it was done.
func liftDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// pathInt64 reads a positive integer path value.
func pathInt64(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	n, err := positive(s, 63)
	if err != nil {
		return 0, fail.Invalidf("%s must be a positive integer, got %s", name, quoteShort(s))
	}
	return n, nil
}

// queryInt reads an optional positive integer query parameter.
func queryInt(r *http.Request, name string, bits int) (int64, bool, error) {
	v := r.URL.Query()[name]
	if len(v) == 0 || v[0] == "" {
		return 0, false, nil
	}
	if len(v) > 1 {
		return 0, false, fail.Invalidf("%s was given %d times; give it once", name, len(v))
	}
	n, err := positive(v[0], bits)
	if err != nil {
		return 0, false, fail.Invalidf("%s must be a positive integer, got %s", name, strconv.Quote(v[0]))
	}
	return n, true, nil
}
