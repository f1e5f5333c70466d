package sqlstore

import (
	"reflect"
	"testing"

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
			if got, err := decodeDetail(s); err != nil || !reflect.DeepEqual(got, tc.d) {
				t.Errorf("decodeDetail(encodeDetail) = %+v, %v; want %+v", got, err, tc.d)
			}
		})
	}
	read := func(s string) (liftoff.TriggerDetail, error) { return decodeDetail(nullString{v: &s}) }
	// Rows from before details were NULL for nothing kept "{}"; unknown
	// fields (a newer Liftoff's) are skipped.
	for _, s := range []string{"", "{}"} {
		if got, err := read(s); err != nil || !got.IsZero() {
			t.Errorf("decodeDetail(%q) = %+v, %v; want the zero detail", s, got, err)
		}
	}
	if got, err := read(`{"event":"push","sender":"kenji-sato","deliveryId":"72d3162e"}`); err != nil ||
		!reflect.DeepEqual(got, liftoff.TriggerDetail{Event: "push", Sender: "kenji-sato"}) {
		t.Errorf("decodeDetail with an unknown field = %+v, %v", got, err)
	}
	// A detail that is not JSON is an error, not a silent empty detail.
	for _, s := range []string{"not json", `["push"]`, `{"event":`} {
		if _, err := read(s); err == nil {
			t.Errorf("decodeDetail(%q) read it", s)
		}
	}
}
