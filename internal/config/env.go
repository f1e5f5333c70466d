package config

import (
	"bytes"
	"encoding/json"
)

// EnvVars is an envVariables object: names to values. Names are letters,
// digits and '_', not starting with a digit.
type EnvVars map[string]EnvValue

// EnvValue is one value of an envVariables object.
//
// A string is used as written; a number or a boolean as its JSON text
// (3000, 1.50, true). Flightcontrol's references
// ({"fromParameterStore": name}, {"fromSecretsManager": name},
// {"fromService": {"id", "value"}}) are kept with From set: package
// variables resolves them at deploy time; MergeEnv skips them.
type EnvValue struct {
	// Value is the literal value; empty when From is set.
	Value string
	// From is the key of an object form ("fromService" ...); empty for a
	// literal value.
	From string
	// Ref is the object form's value as written, for round trips.
	Ref json.RawMessage
}

// Applicable reports whether the value is a literal, not a reference.
func (v EnvValue) Applicable() bool { return v.From == "" }

// UnmarshalJSON reads a string, number, boolean or object form. It does not
// fail on other JSON (the schema reports those): an array or a malformed
// object form reads as an inapplicable value with From "invalid".
func (v *EnvValue) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	*v = EnvValue{}
	switch {
	case len(data) == 0 || bytes.Equal(data, []byte("null")):
		return nil
	case data[0] == '"':
		return json.Unmarshal(data, &v.Value)
	case data[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil || len(obj) != 1 {
			v.From = "invalid"
			return nil
		}
		for k, ref := range obj {
			v.From, v.Ref = k, append(json.RawMessage(nil), ref...)
		}
		return nil
	case data[0] == '[':
		v.From = "invalid"
		return nil
	default:
		// A number, true or false: the JSON text is the value.
		v.Value = string(data)
		return nil
	}
}

// MarshalJSON writes a literal as a JSON string and an object form as it
// was read.
func (v EnvValue) MarshalJSON() ([]byte, error) {
	if v.From == "" {
		return json.Marshal(v.Value)
	}
	ref := v.Ref
	if len(ref) == 0 {
		ref = json.RawMessage("null")
	}
	return json.Marshal(map[string]json.RawMessage{v.From: ref})
}

// MergeEnv merges the literal values of envVariables levels, given in the
// order root, environment, service: a later level overrides an earlier
// one. References are skipped, so a literal value of an earlier level
// stays in place (the fingerprint reads it; package variables resolves the
// references). The result is never nil.
func MergeEnv(levels ...EnvVars) map[string]string {
	out := make(map[string]string)
	for _, level := range levels {
		for name, v := range level {
			if v.Applicable() {
				out[name] = v.Value
			}
		}
	}
	return out
}
