package kubetest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
)

// The versions .ci/kube-tools builds; its test checks that the script says
// the same.
const (
	KubernetesVersion = "v1.34.4"
	KwokVersion       = "v0.7.0"
)

// ToolsEnv names the variable that overrides the directory of the built
// binaries (ToolsDir).
const ToolsEnv = "LIFTOFF_KUBE_TOOLS"

// ErrNoTools is wrapped by the errors of a machine without the binaries.
var ErrNoTools = errors.New("the Kubernetes test tools are missing")

// buildHint is how to get what is missing, in every skip and error.
const buildHint = "build them once per machine with `make kube-tools` " +
	"(.ci/kube-tools; several minutes on 2 cores), and install etcd with `apt-get install etcd-server`"

// Tools are the paths of the control plane's programs.
type Tools struct {
	Etcd              string // Debian's etcd-server, from PATH
	APIServer         string
	ControllerManager string
	Scheduler         string
	Kwok              string
}

// ToolsDir is where .ci/kube-tools puts the binaries: $LIFTOFF_KUBE_TOOLS,
// or liftoff-kube-tools/kubernetes-<version>-kwok-<version> in the user's
// cache directory ($XDG_CACHE_HOME, else ~/.cache).
func ToolsDir() (string, error) {
	if dir := os.Getenv(ToolsEnv); dir != "" {
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the Kubernetes test tools (set %s or HOME): %w", ToolsEnv, err)
	}
	return filepath.Join(cache, "liftoff-kube-tools", "kubernetes-"+KubernetesVersion+"-kwok-"+KwokVersion), nil
}

// FindTools finds the binaries, or says which is missing and how to get it
// (an error wrapping ErrNoTools).
func FindTools() (Tools, error) {
	dir, err := ToolsDir()
	if err != nil {
		return Tools{}, err
	}
	if _, err := os.Stat(filepath.Join(dir, "stamp")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Tools{}, fmt.Errorf("%w: %s has none: %s", ErrNoTools, dir, buildHint)
		}
		return Tools{}, fmt.Errorf("the Kubernetes test tools: %w", err)
	}
	t := Tools{
		APIServer:         filepath.Join(dir, "kube-apiserver"),
		ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Scheduler:         filepath.Join(dir, "kube-scheduler"),
		Kwok:              filepath.Join(dir, "kwok"),
	}
	for _, p := range []string{t.APIServer, t.ControllerManager, t.Scheduler, t.Kwok} {
		if _, err := os.Stat(p); err != nil {
			return Tools{}, fmt.Errorf("%w: no %s: %s", ErrNoTools, p, buildHint)
		}
	}
	t.Etcd, err = exec.LookPath("etcd")
	if err != nil {
		return Tools{}, fmt.Errorf("%w: no etcd in PATH: %s", ErrNoTools, buildHint)
	}
	return t, nil
}
