package sqlstore

import (
	"slices"
	"strings"
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

// The SQL status lists must name exactly the statuses the Go predicates
// pick, or the engine and the store would disagree about what runs.
func TestStatusListsMatchTheGoPredicates(t *testing.T) {
	for _, tc := range []struct {
		name string
		list string
		is   func(liftoff.Status) bool
	}{
		{"running", runningStatuses, liftoff.Status.Running},
		{"final", finalStatuses, liftoff.Status.Final},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, s := range liftoff.Statuses() {
				if tc.is(s) {
					want = append(want, "'"+string(s)+"'")
				}
			}
			got := strings.Split(strings.Trim(tc.list, "()"), ", ")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s = %s, want the statuses %v", tc.name, tc.list, want)
			}
		})
	}
}
