package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parser validates and reads configuration files. Build one with NewParser
// and reuse it: it holds the compiled schema and is safe for concurrent use.
type Parser struct {
	schema *schema
	// known holds, per object kind, the property names the schema defines.
	known map[objectKind]map[string]bool
}

// objectKind names the objects of the file that have a fixed set of fields.
type objectKind string

const (
	kindFile        objectKind = ""
	kindEnvironment objectKind = "/$defs/environment"
	kindSource      objectKind = "/$defs/source"
	kindFilter      objectKind = "/$defs/filter"
	kindService     objectKind = "/$defs/service"
	kindTarget      objectKind = "/$defs/target"
	kindJob         objectKind = "/$defs/job"
)

// NewParser compiles the embedded schema. It fails only if the schema
// shipped with Liftoff is broken.
func NewParser() (*Parser, error) {
	s, err := compileSchema()
	if err != nil {
		return nil, err
	}
	p := &Parser{schema: s, known: make(map[objectKind]map[string]bool)}
	for _, k := range []objectKind{kindFile, kindEnvironment, kindSource, kindFilter, kindService, kindTarget, kindJob} {
		p.known[k] = s.properties(string(k))
	}
	return p, nil
}

// Parse reads a configuration file with a Parser made for the call. Callers
// that parse often should keep a Parser from NewParser instead.
func Parse(data []byte) (*File, []Problem, error) {
	p, err := NewParser()
	if err != nil {
		return nil, nil, err
	}
	return p.Parse(data)
}

// Parse decodes data, validates it against the schema and the rules the
// schema cannot express, and returns the file with every default applied.
//
// The problems are every error and warning found, in document order. The
// error wraps ErrInvalid when the file is unusable: a *SyntaxError when it is
// not JSON (and then there are no problems and no file), otherwise an error
// that counts the errors among the problems and quotes the first. With
// ErrInvalid the file is still returned, as far as it could be read, for
// display only: it must not be deployed.
func (p *Parser) Parse(data []byte) (*File, []Problem, error) {
	if len(data) > MaxFileSize {
		ps := []Problem{{
			Message:  fmt.Sprintf("the file has %d bytes; a configuration file may have at most %d", len(data), MaxFileSize),
			Severity: SeverityError,
		}}
		return nil, ps, invalidError(ps)
	}
	// Editors on Windows may start the file with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc, ps, err := decodeDocument(data)
	if err != nil {
		return nil, nil, err
	}
	if errorCount(ps) > 0 {
		// Unreasonable numbers, replaced in doc: validating it would only
		// add confusion.
		out := ps.sorted()
		return nil, out, invalidError(out)
	}
	ps = append(ps, p.schema.validate(doc)...)
	clean := p.inspect(doc, &ps)
	f, err := decodeFile(clean)
	if err != nil && errorCount(ps) == 0 {
		// The schema accepted what the model cannot hold: a bug of ours,
		// reported rather than hidden.
		ps.errorf("", "cannot read the configuration: %v", err)
	}
	if f != nil {
		f.readFlightcontrolTypes()
	}
	check(f, &ps)
	f.applyDefaults()
	out := ps.sorted()
	return f, out, invalidError(out)
}

// decodeDocument decodes JSON into the generic form the schema validator
// wants (numbers as json.Number). It warns about duplicate keys, which JSON
// decoders resolve silently (the last one wins), and rejects numbers too
// large to validate quickly.
func decodeDocument(data []byte) (any, problems, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, &SyntaxError{Line: 1, Column: 1, Msg: "the file is empty"}
	}
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, newSyntaxError(data, se)
		}
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var found problems
	doc, err := readValue(dec, make([]any, 0, 16), &found)
	if err != nil {
		// The document was checked above; a failure here is a bug.
		return nil, nil, fmt.Errorf("config: decode checked document: %w", err)
	}
	// A duplicate inside a value that a later duplicate replaced points at
	// nothing.
	found = slices.DeleteFunc(found, func(p Problem) bool {
		_, ok := lookup(doc, p.Path)
		return !ok
	})
	return doc, found, nil
}

// readValue reads one value from dec. It reports duplicate keys and
// unreasonable numbers into found; path is the pointer tokens of the value.
func readValue(dec *json.Decoder, path []any, found *problems) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if n, ok := tok.(json.Number); ok && !reasonable(n) {
		// Validating such a number costs seconds (exact arithmetic on
		// 10^1000000); no configuration needs one.
		found.errorf(pointer(path...), "the number %s is too large for a configuration file", display(n))
		return json.Number("0"), nil
	}
	if str, ok := tok.(string); ok && strings.IndexByte(str, 0) >= 0 {
		// No environment variable, name or command can hold one, and
		// PostgreSQL text cannot store one.
		found.errorf(pointer(path...), "the string holds a NUL character (\\u0000); remove it")
		return strings.ReplaceAll(str, "\x00", ""), nil
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	switch delim {
	case '{':
		obj := make(map[string]any)
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := keyTok.(string)
			if strings.IndexByte(key, 0) >= 0 {
				found.errorf(pointer(append(path, key)...), "the key holds a NUL character (\\u0000); remove it")
			}
			v, err := readValue(dec, append(path, key), found)
			if err != nil {
				return nil, err
			}
			if _, seen := obj[key]; seen {
				found.warnf(pointer(append(path, key)...), "duplicate key %q: the last value is used", key)
			}
			obj[key] = v
		}
		_, err := dec.Token()
		return obj, err
	case '[':
		arr := []any{}
		for i := 0; dec.More(); i++ {
			v, err := readValue(dec, append(path, i), found)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err := dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", delim)
}

func newSyntaxError(data []byte, se *json.SyntaxError) *SyntaxError {
	// Offset counts the bytes read, the offending one included, except at
	// the end of the input.
	pos := int(se.Offset)
	if strings.HasPrefix(se.Error(), "invalid character") && pos > 0 {
		pos--
	}
	pos = min(max(pos, 0), len(data))
	before := data[:pos]
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return &SyntaxError{
		Line:   bytes.Count(before, []byte{'\n'}) + 1,
		Column: utf8.RuneCount(before[lineStart:]) + 1,
		Offset: se.Offset,
		Msg:    se.Error(),
	}
}

// inspect warns about fields Liftoff does not use and returns a copy of doc
// holding only the fields the model has, numbers that are whole written as
// integers (the schema accepts 3000.0 as an integer; encoding/json does
// not). Dropping the other fields also keeps encoding/json's
// case-insensitive matching from reading "Port" as "port".
func (p *Parser) inspect(doc any, ps *problems) any {
	root, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	out := p.keep(root, nil, kindFile, true, ps)
	envs, ok := out["environments"].([]any)
	if !ok {
		return out
	}
	cleanEnvs := make([]any, len(envs))
	for i, e := range envs {
		cleanEnvs[i] = p.inspectEnvironment(e, []any{"environments", i}, ps)
	}
	out["environments"] = cleanEnvs
	return out
}

func (p *Parser) inspectEnvironment(v any, path []any, ps *problems) any {
	env, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := p.keep(env, path, kindEnvironment, true, ps)
	if src, ok := out["source"].(map[string]any); ok {
		srcPath := appendPath(path, "source")
		cleanSrc := p.keep(src, srcPath, kindSource, true, ps)
		if filter, ok := cleanSrc["filter"].(map[string]any); ok {
			cleanSrc["filter"] = p.keep(filter, appendPath(srcPath, "filter"), kindFilter, true, ps)
		}
		out["source"] = cleanSrc
	}
	if services, ok := out["services"].([]any); ok {
		clean := make([]any, len(services))
		for j, s := range services {
			clean[j] = p.inspectService(s, appendPath(path, "services", j), ps)
		}
		out["services"] = clean
	}
	return out
}

func (p *Parser) inspectService(v any, path []any, ps *problems) any {
	svc, ok := v.(map[string]any)
	if !ok {
		return v
	}
	// A service Liftoff does not run gets one warning, on its type, rather
	// than one per setting.
	typ, _ := svc["type"].(string)
	runnable := isRunnableType(runnableName(typ))
	out := p.keep(svc, path, kindService, runnable, ps)
	if target, ok := out["target"].(map[string]any); ok {
		tt, _ := target["type"].(string)
		// Flightcontrol's targets have settings of their own (cluster
		// sizes ...); the warning on the type covers them.
		out["target"] = p.keep(target, appendPath(path, "target"), kindTarget, runnable && !isFlightcontrolTarget(tt), ps)
	}
	if jobs, ok := out["jobs"].(map[string]any); ok {
		clean := make(map[string]any, len(jobs))
		for id, j := range jobs {
			if job, ok := j.(map[string]any); ok {
				clean[id] = p.keep(job, appendPath(path, "jobs", id), kindJob, runnable && runnableName(typ) == TypeScheduler, ps)
			} else {
				clean[id] = j
			}
		}
		out["jobs"] = clean
	}
	return out
}

// keep copies the fields of obj the model has; with warn, it reports the
// others.
func (p *Parser) keep(obj map[string]any, path []any, k objectKind, warn bool, ps *problems) map[string]any {
	known := p.known[k]
	out := make(map[string]any, len(obj))
	for name, v := range obj {
		if warn {
			switch {
			case isNotApplicableField(k, name):
				ps.warnf(pointer(appendPath(path, name)...), "not applicable on Liftoff (a Flightcontrol-only setting); ignored")
			case !known[name]:
				msg := "unknown field, ignored"
				if s := suggest(name, known, notApplicableFields(k)); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				}
				ps.warnf(pointer(appendPath(path, name)...), "%s", msg)
			}
		}
		if !known[name] {
			continue
		}
		if n, ok := v.(json.Number); ok {
			v = wholeNumber(n)
		}
		out[name] = v
	}
	return out
}

// appendPath returns path extended by tokens, never sharing path's array.
func appendPath(path []any, tokens ...any) []any {
	return append(slices.Clip(path), tokens...)
}

// reasonable reports whether a number is small enough to validate quickly.
func reasonable(n json.Number) bool {
	if len(n) > 100 {
		return false
	}
	i := strings.IndexAny(string(n), "eE")
	if i < 0 {
		return true
	}
	exp, err := strconv.Atoi(strings.TrimPrefix(string(n[i+1:]), "+"))
	return err == nil && exp >= -1000 && exp <= 1000
}

// wholeNumber writes a whole number such as 3000.0 or 3e3 as 3000.
func wholeNumber(n json.Number) json.Number {
	if !strings.ContainsAny(string(n), ".eE") {
		return n
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
		return n
	}
	return json.Number(strconv.FormatInt(int64(f), 10))
}

// decodeFile reads the cleaned document into the model. Values of the wrong
// type (already reported by the schema) are left at their zero value.
func decodeFile(clean any) (*File, error) {
	f := new(File)
	b, err := json.Marshal(clean)
	if err != nil {
		return f, err
	}
	err = json.Unmarshal(b, f)
	return f, err
}

// suggest returns the known name closest to name when it is close enough to
// be a typo.
func suggest(name string, known map[string]bool, also []string) string {
	best, bestDist := "", 3
	for k := range known {
		also = append(also, k)
	}
	for _, k := range also {
		if strings.HasPrefix(k, "$") {
			continue
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if d < bestDist || (d == bestDist && k < best) {
			best, bestDist = k, d
		}
	}
	if bestDist > 2 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt32 // no typo is that long; bound the work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
