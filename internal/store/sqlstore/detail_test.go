package sqlstore

import (
	"reflect"
	"testing"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
)

func TestTriggerDetailRoundTrip(t *testing.T) {
	t.Parallel()
	details := []struct {
		name string
		d    liftoff.TriggerDetail
		json any // what the column holds
	}{
		{"empty is NULL", liftoff.TriggerDetail{}, nil},
		{"push", liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato"}, `{"event":"push","sender":"kenji-sato"}`},
		{"pull request", liftoff.TriggerDetail{Event: "pull_request", Action: "opened", Sender: "ana-lima", BaseBranch: "main",
			HeadBranch: "feature/checkout", FilterWatchPaths: []string{"apps/**", "!apps/docs/**"}},
			`{"event":"pull_request","action":"opened","sender":"ana-lima","baseBranch":"main","headBranch":"feature/checkout",` +
				`"filterWatchPaths":["apps/**","!apps/docs/**"]}`},
		{"forced push only", liftoff.TriggerDetail{Forced: true}, `{"forced":true}`},
	}
	for _, tc := range details {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			col, err := encodeDetail(tc.d)
			if err != nil || col != tc.json {
				t.Fatalf("encodeDetail = %v, %v; want %v", col, err, tc.json)
			}
			var s nullString
			if str, ok := col.(string); ok {
				s.v = &str
			}
			if got := decodeDetail(s); !reflect.DeepEqual(got, tc.d) {
				t.Errorf("decodeDetail(encodeDetail) = %+v; want %+v", got, tc.d)
			}
		})
	}
	read := func(s string) liftoff.TriggerDetail { return decodeDetail(nullString{v: &s}) }
	// Rows from before details were NULL for nothing kept "{}"; unknown
	// fields (a newer Liftoff's) are skipped; a detail that is not JSON
	// says nothing rather than making its deployment unreadable.
	for _, s := range []string{"", "{}", "not json", `["push"]`, `{"event":`} {
		if got := read(s); !got.IsZero() {
			t.Errorf("decodeDetail(%q) = %+v; want the zero detail", s, got)
		}
	}
	if got := read(`{"event":"push","sender":"kenji-sato","deliveryId":"72d3162e"}`); !reflect.DeepEqual(got, liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato"}) {
		t.Errorf("decodeDetail with an unknown field = %+v", got)
	}
}

// An entry of the config written by another version of Liftoff reads as
// well as it can: a field whose shape changed is skipped, the rest is
// read; text that is not JSON reads as an empty entry. No read fails.
func TestDecodeConfigNeverFailsARead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stored string
		want         config.Service
	}{
		{"as written", `{"id":"api","name":"API","buildCommand":"make"}`, config.Service{ID: "api", Name: "API", BuildCommand: "make"}},
		{"a field of a newer shape", `{"id":"api","name":"API","buildCommand":["make","all"],"startCommand":"./api"}`,
			config.Service{ID: "api", Name: "API", StartCommand: config.Shell("./api")}},
		{"a field this version does not know", `{"id":"api","cpu":2}`, config.Service{ID: "api"}},
		{"not JSON", `{"id":"api"`, config.Service{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got config.Service
			decodeConfig(tc.stored, &got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decodeConfig(%s) = %+v, want %+v", tc.stored, got, tc.want)
			}
		})
	}
}
