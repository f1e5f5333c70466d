package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/liftoffhq/liftoff/internal/container"
	"github.com/liftoffhq/liftoff/internal/imagepack"
	"github.com/liftoffhq/liftoff/internal/target/kube"
)

// newKube returns the kubernetes target when --kubeconfig is given, and
// what closes its packers; nil without one. The kubeconfig is read now:
// a wrong one fails the start rather than the first deployment.
func newKube(ctx context.Context, cfg Config, dataDir string, containers *container.CLI, log *slog.Logger) (*kube.Target, func(), error) {
	if cfg.Kubeconfig == "" {
		if cfg.KubeDefault || cfg.KubeNamespace != "" || cfg.KubeRegistry != "" || cfg.KubeIngressClass != "" || cfg.KubeBaseImage != "" ||
			len(cfg.KubeIngressAnnotations) > 0 || cfg.KubeIngressTLS {
			return nil, nil, errors.New("the --kube-* settings need --kubeconfig, the cluster to deploy to (or \"in-cluster\")")
		}
		return nil, func() {}, nil
	}
	// Layers are written here while they are pushed: they can be large.
	tmp := filepath.Join(dataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	packers := kube.NewPackers(imagepack.Config{Insecure: cfg.KubeRegistryInsecure, BaseImage: cfg.KubeBaseImage,
		Containers: containers, TempDir: tmp})
	t, err := kube.New(kube.Config{Kubeconfig: cfg.Kubeconfig, Images: packers, RolloutTimeout: cfg.KubeRolloutTimeout,
		Default: cfg.KubeDefault, Log: log, IngressAnnotations: cfg.KubeIngressAnnotations, IngressTLS: cfg.KubeIngressTLS,
		Defaults: kube.Settings{Namespace: cfg.KubeNamespace, Registry: cfg.KubeRegistry, IngressClass: cfg.KubeIngressClass}})
	if err != nil {
		return nil, nil, err
	}
	if err := t.Check(ctx); err != nil {
		return nil, nil, err
	}
	log.Info("the kubernetes target is on", "kubeconfig", cfg.Kubeconfig, "namespace", cfg.KubeNamespace,
		"registry", cfg.KubeRegistry, "default", cfg.KubeDefault)
	return t, func() { _ = packers.Close() }, nil
}
