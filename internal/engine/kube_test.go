package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/target"
)

// fakeKube is a fakeTarget that publishes images too: it records what it
// was asked to publish and answers a digest reference in a registry.
type fakeKube struct {
	*fakeTarget

	mu        sync.Mutex
	published []target.Release
}

func newFakeKube() *fakeKube { return &fakeKube{fakeTarget: newFakeTarget()} }

func (f *fakeKube) Publish(_ context.Context, rel target.Release) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, rel)
	sum := sha256.Sum256([]byte(rel.ID))
	return "registry.test/shop/" + rel.Service.ID + "@sha256:" + hex.EncodeToString(sum[:]), nil
}

func (f *fakeKube) publishedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.published)
}

// onCluster makes a harness's engine release to kube, the operator's
// default target with --kube-default.
func onCluster(kube *fakeKube) func(*Deps, *Config) {
	return func(d *Deps, _ *Config) { d.Kube, d.KubeDefault = kube, true }
}

func kubeDefaultConfig(minInstances int) string {
	return fmt.Sprintf(`{"environments": [{"id": "production", "name": "Production", "source": {"branch": "main"}, "services": [
  {"id": "api", "type": "web", "watchPaths": ["api/**"], "startCommand": "./api", "minInstances": %d}]}]}`, minInstances)
}

// A service that leaves its target to the operator, released to the
// cluster by --kube-default, deploys again when what only the cluster
// reads changes: minInstances, its replicas.
func TestKubeDefaultReplicasChangeDeploys(t *testing.T) {
	t.Parallel()
	kube, local := newFakeKube(), newFakeTarget()
	h := newEngineHarness(t, kubeDefaultConfig(1), map[string]string{"api/main.go": "package main"}, local, onCluster(kube))
	if d := h.deploy(liftoff.Deployment{}); d.Status != liftoff.StatusSuccess {
		t.Fatalf("first deployment %s: %+v\n%s", d.Status, d.Errors, logText(t, h, d.ID))
	}
	h.repo.Commit("three replicas", map[string]string{"liftoff.json": kubeDefaultConfig(3)})
	d := h.deploy(liftoff.Deployment{})
	if api := service(t, d, "api"); api.Status != liftoff.StatusSuccess {
		t.Errorf("after minInstances 1 -> 3, api ended %s (%s), want a release of 3 replicas", api.Status, api.Reason)
	}
	rels := kube.released()
	if len(rels) != 2 || rels[1].Service.MinInstances != 3 {
		t.Errorf("the cluster got %d releases, want 2, the last of 3 replicas", len(rels))
	}
	if n := len(local.released()); n != 0 {
		t.Errorf("the local target got %d releases of a service on the cluster", n)
	}
}

// A redeploy applies the image its release recorded, without publishing,
// when that is an image in a registry (a digest); one recorded by the
// local target (a tag of the Liftoff host's container storage, which no
// cluster can pull) is published first.
func TestKubeRedeployPublishesOnlyWhatIsNotInTheRegistry(t *testing.T) {
	t.Parallel()
	kube := newFakeKube()
	h := newEngineHarness(t, kubeDefaultConfig(1), map[string]string{"api/main.go": "package main"}, newFakeTarget(), onCluster(kube))
	first := h.deploy(liftoff.Deployment{})
	if first.Status != liftoff.StatusSuccess {
		t.Fatalf("first deployment %s: %+v\n%s", first.Status, first.Errors, logText(t, h, first.ID))
	}
	api := service(t, first, "api")
	if !strings.Contains(api.Image, "@sha256:") || kube.publishedCount() != 1 {
		t.Fatalf("the first release recorded image %q after %d publishes", api.Image, kube.publishedCount())
	}
	redeploy := func() liftoff.Deployment {
		t.Helper()
		d, err := h.deployments().Redeploy(h.ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		d = h.wait(d.ID)
		if d.Status != liftoff.StatusSuccess {
			t.Fatalf("redeploy %s: %+v\n%s", d.Status, d.Errors, logText(t, h, d.ID))
		}
		return d
	}
	redeploy()
	if n := kube.publishedCount(); n != 1 {
		t.Errorf("a redeploy of a published image published again (%d publishes)", n)
	}
	if rels := kube.released(); rels[len(rels)-1].Image != api.Image {
		t.Errorf("the redeploy released %q, want %q", rels[len(rels)-1].Image, api.Image)
	}

	// As if the first deployment had released api on the Liftoff host.
	localTag := "localhost/liftoff/shop/production/api:" + api.ID
	if err := h.st.UpdateServiceDeployment(h.ctx, store.UpdateServiceDeploymentParams{ID: api.ID, Image: localTag}); err != nil {
		t.Fatal(err)
	}
	redeploy()
	if n := kube.publishedCount(); n != 2 {
		t.Errorf("a redeploy of a local image did not publish it (%d publishes)", n)
	}
	if rels := kube.released(); rels[len(rels)-1].Image == localTag {
		t.Errorf("the cluster was given the local image %s", localTag)
	}
}
