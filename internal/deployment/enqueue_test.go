package deployment

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
)

func TestSameTarget(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		name       string
		pending, d liftoff.Deployment
		want       bool
	}{
		{"both branch heads", liftoff.Deployment{GitBranch: "main"}, liftoff.Deployment{GitBranch: "main"}, true},
		{"other branch", liftoff.Deployment{GitBranch: "main"}, liftoff.Deployment{GitBranch: "dev"}, false},
		{"head then commit", liftoff.Deployment{GitBranch: "main"}, liftoff.Deployment{GitBranch: "main", RequestedCommit: sha}, false},
		{"same commit", liftoff.Deployment{RequestedCommit: sha}, liftoff.Deployment{RequestedCommit: sha}, true},
		{"short and full", liftoff.Deployment{RequestedCommit: sha[:7]}, liftoff.Deployment{RequestedCommit: sha}, true},
		{"other commit", liftoff.Deployment{RequestedCommit: sha}, liftoff.Deployment{RequestedCommit: "fedcba9"}, false},
		{"a redeploy never joins", liftoff.Deployment{RequestedCommit: sha}, liftoff.Deployment{RequestedCommit: sha, RedeployOf: "c1"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := sameTarget(c.pending, c.d); got != c.want {
				t.Fatalf("sameTarget = %v, want %v", got, c.want)
			}
		})
	}
}

// TestCarrySuperseded: a push deployment that supersedes a PENDING one
// carries what that one asked for, and what it had carried; others do not.
func TestCarrySuperseded(t *testing.T) {
	t.Parallel()
	pushed := func(commit string, superseded ...string) liftoff.Deployment {
		return liftoff.Deployment{RequestedCommit: commit, TriggerType: liftoff.TriggerGitHub,
			TriggerDetail: liftoff.TriggerDetail{Event: "push", Superseded: superseded}}
	}
	got := carrySuperseded(pushed("bbb", "aaa"), pushed("ccc")).TriggerDetail.Superseded
	if len(got) != 2 || got[0] != "aaa" || got[1] != "bbb" {
		t.Errorf("superseding a push: carried %q, want [aaa bbb]", got)
	}
	got = carrySuperseded(liftoff.Deployment{GitBranch: "main", TriggerType: liftoff.TriggerDeployHook}, pushed("ccc")).TriggerDetail.Superseded
	if len(got) != 1 || got[0] != "" {
		t.Errorf("superseding a deployment of the branch head: carried %q, want [\"\"]", got)
	}
	if d := carrySuperseded(pushed("bbb"), liftoff.Deployment{RequestedCommit: "ccc", TriggerType: liftoff.TriggerDeployHook}); !d.TriggerDetail.IsZero() {
		t.Errorf("a hook deployment carried %+v", d.TriggerDetail)
	}
	if d := carrySuperseded(liftoff.Deployment{RequestedCommit: "aaa", RedeployOf: "c1"}, pushed("ccc")); len(d.TriggerDetail.Superseded) != 0 {
		t.Errorf("a redeploy (a rollback someone asked for) was carried: %+v", d.TriggerDetail)
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('a' + i%26))
	}
	if got := carrySuperseded(pushed("zzz", many...), pushed("ccc")).TriggerDetail.Superseded; len(got) != maxSuperseded || got[len(got)-1] != "zzz" {
		t.Errorf("carried %d commits ending %q, want the newest %d", len(got), got[len(got)-1], maxSuperseded)
	}
}
