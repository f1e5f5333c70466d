package deploy

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/store"
)

func TestSameTarget(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name       string
		pending, d store.Deployment
		want       bool
	}{
		{"both branch heads", store.Deployment{GitBranch: "main"}, store.Deployment{GitBranch: "main"}, true},
		{"other branch", store.Deployment{GitBranch: "main"}, store.Deployment{GitBranch: "dev"}, false},
		{"head then commit", store.Deployment{GitBranch: "main"}, store.Deployment{GitBranch: "main", RequestedCommit: sha}, false},
		{"same commit", store.Deployment{RequestedCommit: sha}, store.Deployment{RequestedCommit: sha}, true},
		{"short and full", store.Deployment{RequestedCommit: sha[:7]}, store.Deployment{RequestedCommit: sha}, true},
		{"other commit", store.Deployment{RequestedCommit: sha}, store.Deployment{RequestedCommit: "fedcba9"}, false},
		{"a redeploy never joins", store.Deployment{RequestedCommit: sha}, store.Deployment{RequestedCommit: sha, RedeployOf: "c1"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sameTarget(c.pending, c.d); got != c.want {
				t.Fatalf("sameTarget = %v, want %v", got, c.want)
			}
		})
	}
}
