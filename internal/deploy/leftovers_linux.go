package deploy

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
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
	markers := make([][]byte, len(deploymentIDs))
	for i, id := range deploymentIDs {
		markers[i] = []byte("LIFTOFF_DEPLOYMENT_ID=" + id + "\x00")
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := os.Getpid()
	killed := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue // gone, or not ours to read
		}
		env = append(env, 0)
		for _, m := range markers {
			if bytes.Contains(env, m) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed++
				break
			}
		}
	}
	return killed
}
