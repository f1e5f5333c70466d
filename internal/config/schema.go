package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// SchemaID is the $id of the schema document: a name, not an address.
// Liftoff serves the schema itself, at SchemaPath.
const SchemaID = "urn:liftoff:schema:liftoff.json"

// SchemaPath is where `liftoff serve` answers with the schema, without an
// API key: a liftoff.json's "$schema" is the server's public URL followed
// by SchemaPath.
const SchemaPath = "/schema/liftoff.json"

// schemaJSON is read-only: Schema hands out copies.
//
//go:embed liftoff.schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of liftoff.json, to serve it
// and to put it in the documentation. The caller owns the returned slice.
func Schema() []byte { return bytes.Clone(schemaJSON) }

// schema is the compiled schema plus the document it came from, which
// error messages consult (the bounds of a range, the properties of an
// object).
type schema struct {
	compiled *jsonschema.Schema
	doc      map[string]any
}

func compileSchema() (*schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("config: read embedded schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		return nil, fmt.Errorf("config: add embedded schema: %w", err)
	}
	compiled, err := c.Compile(SchemaID)
	if err != nil {
		return nil, fmt.Errorf("config: compile embedded schema: %w", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("config: embedded schema is not an object")
	}
	return &schema{compiled: compiled, doc: m}, nil
}

// properties returns the property names the schema defines for the object
// at the fragment (for example "/$defs/service").
func (s *schema) properties(fragment string) map[string]bool {
	obj, _ := s.at(fragment).(map[string]any)
	props, _ := obj["properties"].(map[string]any)
	out := make(map[string]bool, len(props))
	for name := range props {
		out[name] = true
	}
	return out
}

// at resolves a JSON pointer fragment in the schema document.
func (s *schema) at(fragment string) any {
	v, _ := lookup(s.doc, fragment)
	return v
}

// validate checks a decoded document (as jsonschema.UnmarshalJSON builds
// it) and returns every violation, each at the pointer of its value.
func (s *schema) validate(doc any) []Problem {
	err := s.compiled.Validate(doc)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []Problem{{Severity: SeverityError, Message: "cannot validate: " + err.Error()}}
	}
	var ps problems
	s.flatten(verr, doc, &ps)
	return ps
}

// flatten walks the error tree down to the violations a person can act on.
func (s *schema) flatten(e *jsonschema.ValidationError, doc any, ps *problems) {
	path := pointer(tokensOf(e.InstanceLocation)...)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, c := range e.Causes {
			s.flatten(c, doc, ps)
		}
	case *kind.Required:
		for _, name := range k.Missing {
			ps.errorf(path, "%s", requiredMessage(fragmentOf(e.SchemaURL), name))
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			if fragmentOf(e.SchemaURL) == "/$defs/envVariables" {
				ps.errorf(child(path, name),
					"%q is not a valid environment variable name: use letters, digits and '_', not starting with a digit", name)
			} else {
				ps.errorf(child(path, name), "unknown field %q", name)
			}
		}
	default:
		ps.errorf(path, "%s", s.message(e, path, doc))
	}
}

// requiredMessage explains a missing property; fragment locates the schema
// that requires it.
func requiredMessage(fragment, name string) string {
	switch fragment {
	case "/$defs/source/else":
		return `missing "branch": a normal environment deploys a branch (a preview environment sets "pr": true instead)`
	case "/$defs/target/then":
		return `missing "deployCommand": a target of type "command" needs the command that deploys the release`
	}
	return fmt.Sprintf("missing required field %q", name)
}

// message words one violation, of the value of doc at path, for people.
func (s *schema) message(e *jsonschema.ValidationError, path string, doc any) string {
	fragment := fragmentOf(e.SchemaURL)
	value, _ := lookup(doc, path)
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return typeMessage(k.Want, k.Got)
	case *kind.Enum:
		got, _ := value.(string)
		switch fragment {
		case "/$defs/service/properties/type":
			service := "service"
			parent, _ := lookup(doc, strings.TrimSuffix(path, "/type"))
			if svc, ok := parent.(map[string]any); ok {
				if id, ok := svc["id"].(string); ok && id != "" {
					service = fmt.Sprintf("service %q", id)
				}
			}
			return fmt.Sprintf("%s has type %q, which Liftoff cannot run; use one of %s", service, got, runnableTypeList)
		case "/$defs/target/properties/type":
			return fmt.Sprintf(`target type %q is not supported; use "local", "command" or "kubernetes"`, got)
		}
		want := make([]string, 0, len(k.Want))
		for _, w := range k.Want {
			want = append(want, display(w))
		}
		return fmt.Sprintf("must be %s, not %s", orList(want), display(value))
	case *kind.Pattern, *kind.MinLength, *kind.MaxLength:
		switch {
		case fragment == "/$defs/slug":
			return fmt.Sprintf("%s is not a valid id: use letters, digits, '-' and '_', starting with a letter or digit, at most 63 characters (ids become part of host names)", display(value))
		case strings.HasSuffix(fragment, "/healthCheckPath"):
			return fmt.Sprintf(`%s must start with "/"`, display(value))
		case fragment == "/$defs/target/properties/namespace":
			return fmt.Sprintf("%s is not a Kubernetes namespace: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters", display(value))
		case fragment == "/$defs/target/properties/registry":
			return fmt.Sprintf(`%s is not a registry: write host[:port][/path], as "registry.example.com/team" (no scheme, no tag)`, display(value))
		case fragment == "/$defs/target/properties/ingressClass":
			return fmt.Sprintf("%s is not an IngressClass name: use lowercase letters, digits, '-' and '.'", display(value))
		}
		switch k := k.(type) {
		case *kind.MinLength:
			if k.Want == 1 {
				return "must not be empty"
			}
			return fmt.Sprintf("must be at least %d characters long", k.Want)
		case *kind.MaxLength:
			return fmt.Sprintf("must be at most %d characters long", k.Want)
		case *kind.Pattern:
			return fmt.Sprintf("%s does not match the pattern %s", display(value), k.Want)
		}
	case *kind.Minimum, *kind.Maximum:
		return s.rangeMessage(fragment)
	case *kind.ExclusiveMinimum:
		return "must be more than " + k.Want.RatString()
	case *kind.MinItems:
		switch fragment {
		case "/properties/environments":
			return "at least one environment is required"
		case "/$defs/command":
			tok := splitPointer(path)
			return fmt.Sprintf(`%q is an empty array: give the program and its arguments (["node", "server.js"]), or a shell line`, unescapeToken(tok[len(tok)-1]))
		}
		return fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.AnyOf, *kind.OneOf:
		if fragment == "/$defs/envValue" {
			return `must be a string, a number, a boolean, {"fromParameterStore": "<secret name>"}, {"fromSecretsManager": "<secret name>"} or {"fromService": {"id": "<service>", "value": "<host, origin, port or a value set with liftoff secrets set>"}}`
		}
		return "does not match any of the allowed forms"
	}
	return fmt.Sprintf("breaks the schema rule %q", strings.Join(e.ErrorKind.KeywordPath(), "/"))
}

// rangeMessage states the bounds of the number schema at fragment.
func (s *schema) rangeMessage(fragment string) string {
	obj, _ := s.at(fragment).(map[string]any)
	lo, hasLo := obj["minimum"]
	hi, hasHi := obj["maximum"]
	switch {
	case hasLo && hasHi:
		return fmt.Sprintf("must be between %v and %v", lo, hi)
	case hasLo:
		return fmt.Sprintf("must be at least %v", lo)
	case hasHi:
		return fmt.Sprintf("must be at most %v", hi)
	}
	return "is out of range"
}

// typeMessage says which JSON types are wanted instead of got.
func typeMessage(want []string, got string) string {
	if slices.Equal(want, []string{"integer"}) && got == "number" {
		return "must be a whole number"
	}
	names := make([]string, 0, len(want))
	for _, w := range want {
		names = append(names, withArticle(w))
	}
	return fmt.Sprintf("must be %s, not %s", orList(names), withArticle(got))
}

func withArticle(jsonType string) string {
	switch jsonType {
	case "null":
		return "null"
	case "array", "object", "integer":
		return "an " + jsonType
	}
	return "a " + jsonType
}

// orList joins items as "a", "a or b", "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// display shows a JSON value in a message, shortened when long.
func display(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = strconv.Quote(v)
	case json.Number:
		s = v.String()
	case nil:
		s = "null"
	case map[string]any:
		s = "an object"
	case []any:
		s = "an array"
	default:
		s = fmt.Sprint(v)
	}
	const limit = 80
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit-3]) + "..."
	}
	return s
}

// fragmentOf returns the JSON pointer fragment of a schema URL, "" when the
// URL has none.
func fragmentOf(url string) string {
	_, frag, _ := strings.Cut(url, "#")
	return frag
}

// tokensOf converts an instance location for pointer.
func tokensOf(loc []string) []any {
	out := make([]any, len(loc))
	for i, t := range loc {
		out[i] = t
	}
	return out
}

// lookup resolves a JSON pointer in doc.
func lookup(doc any, ptr string) (any, bool) {
	v := doc
	for _, tok := range splitPointer(ptr) {
		tok = unescapeToken(tok)
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}
