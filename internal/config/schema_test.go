package config

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSchemaDocument(t *testing.T) {
	t.Parallel()
	var doc struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
	}
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatalf("Schema() is not JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != SchemaID {
		t.Errorf("$schema %q, $id %q", doc.Schema, doc.ID)
	}
	b := Schema()
	b[0] = 'x'
	if Schema()[0] == 'x' {
		t.Error("Schema() hands out the embedded bytes")
	}
}

// TestSchemaMatchesModel keeps the schema's properties and the structs'
// JSON fields the same: a property the model lacks would be accepted and
// silently dropped, a field the schema lacks would be warned about as
// unknown.
func TestSchemaMatchesModel(t *testing.T) {
	t.Parallel()
	p := newTestParser(t)
	tests := []struct {
		kind  objectKind
		model any
		extra []string // properties the schema has and the model does not
	}{
		{kindFile, File{}, []string{"$schema"}},
		{kindEnvironment, Environment{}, nil},
		{kindSource, Source{}, nil},
		{kindFilter, Filter{}, nil},
		{kindService, Service{}, nil},
		{kindTarget, Target{}, nil},
	}
	for _, tt := range tests {
		t.Run(reflect.TypeOf(tt.model).Name(), func(t *testing.T) {
			t.Parallel()
			var fields []string
			typ := reflect.TypeOf(tt.model)
			for f := range typ.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" {
					continue // not in the file
				}
				fields = append(fields, name)
			}
			fields = append(fields, tt.extra...)
			slices.Sort(fields)
			props := slices.Sorted(maps.Keys(p.known[tt.kind]))
			if !slices.Equal(fields, props) {
				t.Errorf("model fields %v, schema properties %v", fields, props)
			}
		})
	}
}

// TestSchemaDefaultsMatchModel keeps the "default" annotations, which
// editors show, equal to what Parse applies.
func TestSchemaDefaultsMatchModel(t *testing.T) {
	t.Parallel()
	p := newTestParser(t)
	want := map[string]any{
		"/$defs/service/properties/basePath":                DefaultBasePath,
		"/$defs/service/properties/port":                    DefaultPort,
		"/$defs/service/properties/healthCheckPath":         DefaultHealthCheckPath,
		"/$defs/service/properties/healthCheckTimeoutSecs":  DefaultHealthCheckTimeoutSecs,
		"/$defs/service/properties/healthCheckIntervalSecs": DefaultHealthCheckIntervalSecs,
		"/$defs/service/properties/outputDirectory":         DefaultOutputDirectory,
		"/$defs/service/properties/versionHistoryCount":     DefaultVersionHistoryCount,
		"/$defs/service/properties/buildTimeoutSecs":        DefaultBuildTimeoutSecs,
		"/$defs/target/properties/type":                     TargetLocal,
		"/$defs/source/properties/trigger":                  TriggerPush,
	}
	for ptr, w := range want {
		obj, _ := p.schema.at(ptr).(map[string]any)
		if got := obj["default"]; got == nil || toString(got) != toString(w) {
			t.Errorf("%s: default %v, want %v", ptr, got, w)
		}
	}
	svc := Service{Type: TypeStatic}
	svc.applyDefaults()
	if svc.BasePath != DefaultBasePath {
		t.Errorf("basePath default %q", svc.BasePath)
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
