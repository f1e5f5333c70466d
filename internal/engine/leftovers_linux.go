package engine

import (
	"syscall"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// killLeftovers kills the processes that deployments interrupted by a
// killed Liftoff left behind: build and deploy commands run in process
// groups that outlive Liftoff when it is killed with SIGKILL (Pdeathsig only
// reaches a step's shell). Every such process carries its deployment's
// LIFTOFF_DEPLOYMENT_ID in its environment, which is how they are found.
// It returns how many processes were killed.
func killLeftovers(deploymentIDs []string) int {
	if len(deploymentIDs) == 0 {
		return 0
	}
	markers := make([]string, len(deploymentIDs))
	for i, id := range deploymentIDs {
		markers[i] = "LIFTOFF_DEPLOYMENT_ID=" + id
	}
	pids := procgroup.WithEnv(markers...)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}
