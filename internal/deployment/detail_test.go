package deployment

import (
	"reflect"
	"testing"
)

func TestTriggerDetailRoundTrip(t *testing.T) {
	t.Parallel()
	details := []struct {
		name string
		d    TriggerDetail
		json string
	}{
		{"empty", TriggerDetail{}, `{}`},
		{"push", TriggerDetail{Event: "push", Sender: "kenji-sato"}, `{"event":"push","sender":"kenji-sato"}`},
		{"pull request", TriggerDetail{Event: "pull_request", Action: "opened", Sender: "ana-lima", BaseBranch: "main",
			HeadBranch: "feature/checkout", FilterWatchPaths: []string{"apps/**", "!apps/docs/**"}},
			`{"event":"pull_request","action":"opened","sender":"ana-lima","baseBranch":"main","headBranch":"feature/checkout",` +
				`"filterWatchPaths":["apps/**","!apps/docs/**"]}`},
	}
	for _, tc := range details {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.d.Encode()
			if s != tc.json {
				t.Errorf("Encode = %s\nwant     %s", s, tc.json)
			}
			if got := ParseDetail(s); !reflect.DeepEqual(got, tc.d) {
				t.Errorf("ParseDetail(Encode) = %+v, want %+v", got, tc.d)
			}
		})
	}
	for _, s := range []string{"", "not json", `["push"]`, `{"event":`} {
		if got := ParseDetail(s); !reflect.DeepEqual(got, TriggerDetail{}) {
			t.Errorf("ParseDetail(%q) = %+v, want the zero detail", s, got)
		}
	}
	// Unknown fields (a newer Liftoff's) are skipped.
	if got := ParseDetail(`{"event":"push","sender":"kenji-sato","deliveryId":"72d3162e"}`); !reflect.DeepEqual(got, TriggerDetail{Event: "push", Sender: "kenji-sato"}) {
		t.Errorf("ParseDetail with an unknown field = %+v", got)
	}
}
