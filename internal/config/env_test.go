package config

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	lit := func(v string) EnvValue { return EnvValue{Value: v} }
	ref := EnvValue{From: "fromService", Ref: json.RawMessage(`{"id":"db","value":"dbConnectionString"}`)}
	tests := []struct {
		name           string
		root, env, svc EnvVars
		want           map[string]string
	}{
		{"nothing", nil, nil, nil, map[string]string{}},
		{
			name: "later levels win",
			root: EnvVars{"A": lit("root"), "B": lit("root"), "C": lit("root")},
			env:  EnvVars{"B": lit("env"), "C": lit("env")},
			svc:  EnvVars{"C": lit("svc")},
			want: map[string]string{"A": "root", "B": "env", "C": "svc"},
		},
		{
			name: "object forms are skipped",
			root: EnvVars{"DATABASE_URL": lit("postgres://localhost/app")},
			svc:  EnvVars{"DATABASE_URL": ref, "ONLY_REF": ref},
			want: map[string]string{"DATABASE_URL": "postgres://localhost/app"},
		},
		{
			name: "empty string is a value",
			root: EnvVars{"A": lit("x")},
			env:  EnvVars{"A": lit("")},
			want: map[string]string{"A": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MergeEnv(tt.root, tt.env, tt.svc); !maps.Equal(got, tt.want) {
				t.Errorf("MergeEnv = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEnvValueJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		value string
		from  string
		out   string
	}{
		{"string", `"x y"`, "x y", "", `"x y"`},
		{"integer", `3000`, "3000", "", `"3000"`},
		{"decimal keeps its text", `1.50`, "1.50", "", `"1.50"`},
		{"boolean", `true`, "true", "", `"true"`},
		{"parameter store", `{"fromParameterStore": "prod/key"}`, "", "fromParameterStore", `{"fromParameterStore":"prod/key"}`},
		{"service", `{"fromService": {"id": "db", "value": "dbConnectionString"}}`, "", "fromService", `{"fromService":{"id":"db","value":"dbConnectionString"}}`},
		{"array is invalid", `[1]`, "", "invalid", `{"invalid":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v EnvValue
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			if v.Value != tt.value || v.From != tt.from || v.Applicable() != (tt.from == "") {
				t.Errorf("read %+v, want value %q from %q", v, tt.value, tt.from)
			}
			out, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("marshal = %s, want %s", out, tt.out)
			}
		})
	}
}
