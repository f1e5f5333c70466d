package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// podmanDefaultLimit is the value podman gives a container's nofile and
// nproc limits when it is told none (podman 4 and 5).
const podmanDefaultLimit = 1 << 20

// DetectUlimits returns the --ulimit values a podman container needs on
// this host: none where the host's hard limits allow podman's defaults,
// else nofile and nproc at the host's hard limits (nproc also at most
// kernel.pid_max, which podman caps its own limit at). Root without
// CAP_SYS_RESOURCE cannot raise a limit past the hard one, and runc then
// refuses to start the container ("setrlimit ...: operation not permitted").
func DetectUlimits() []string {
	var out []string
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Max < podmanDefaultLimit {
		out = append(out, fmt.Sprintf("nofile=%d:%d", rl.Max, rl.Max))
	}
	if unix.Getrlimit(unix.RLIMIT_NPROC, &rl) == nil {
		n := rl.Max
		if pm, ok := pidMax(); ok && pm < n {
			n = pm
		}
		if n < podmanDefaultLimit {
			out = append(out, fmt.Sprintf("nproc=%d:%d", n, n))
		}
	}
	return out
}

// pidMax reads kernel.pid_max.
func pidMax() (uint64, bool) {
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}
