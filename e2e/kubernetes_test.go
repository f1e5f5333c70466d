package e2e

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/kubetest"
	"github.com/liftoffhq/liftoff/internal/target/kube"
)

// kubeConfig is a project of the four kinds of services the kubernetes
// target runs, every one on the cluster through the environment's target.
func kubeConfig(namespace, registry string) string {
	return `{"environments": [{"id": "production", "source": {"branch": "main"},
  "target": {"type": "kubernetes", "namespace": "` + namespace + `", "registry": "` + registry + `"},
  "services": [
    {"id": "web", "type": "web", "port": 3000, "minInstances": 2, "healthCheckPath": "/health",
     "domain": "shop.example.com", "buildCommand": "echo built > built.txt", "startCommand": "./server",
     "envVariables": {"GREETING": "hello"}},
    {"id": "worker", "type": "worker", "startCommand": "./work"},
    {"id": "site", "type": "static", "buildCommand": "mkdir -p dist && cp index.html dist/", "outputDirectory": "dist"},
    {"id": "cron", "type": "scheduler", "jobs": {"nightly": {"startCommand": "./report", "schedule": "0 3 * * *"}}}
  ]}]}`
}

// TestKubernetesTarget deploys a project with a web service, a worker, a
// static site and a scheduled job to a real control plane through a hook:
// the images are packed and pushed to a registry, the objects applied
// with the right labels and field manager, the rollouts complete, and Get
// Deployment reports SUCCESS. A redeploy of the first deployment then
// applies its images again without building.
func TestKubernetesTarget(t *testing.T) {
	c := kubeCluster.Get(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	regHost := strings.TrimPrefix(reg.URL, "http://")
	base, err := name.ParseReference(regHost+"/base:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	baseImg, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH,
		RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{Env: []string{"PATH=/bin"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(base, baseImg); err != nil {
		t.Fatalf("push the base image: %v", err)
	}

	logs := &logLines{}
	dataDir := t.TempDir()
	flags := storeFlags(t, "sqlite", dataDir)
	key := bootstrapKey(t, flags)
	srv := start(t, append(append(append(flags, sandboxFlags...), allowTempRepos()...),
		"--kubeconfig", c.Kubeconfig, "--kube-base-image", base.String(), "--kube-rollout-timeout", "2m"), logs)
	cl := client.New(srv.url(), key)

	repo := gittest.New(t)
	repo.Commit("shop", map[string]string{
		"liftoff.json": kubeConfig(ns, regHost+"/team"),
		"index.html":   "<h1>site v1</h1>",
		"version.txt":  "v1",
	})
	project, err := cl.CreateProjectWith(ctx, client.NewProject{Name: "shop", RepoURL: repo.Dir})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := cl.CreateHook(ctx, project.Environments[0].EnvironmentID, "CI")
	if err != nil {
		t.Fatal(err)
	}
	hookURL := srv.url() + hook.URL[strings.Index(hook.URL, "/api/"):]
	wait := func(id string) client.Deployment {
		t.Helper()
		for {
			d, err := cl.Deployment(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if isFinal(d.Status) {
				return d
			}
			if ctx.Err() != nil {
				out, _ := cl.Logs(context.Background(), id, "")
				t.Fatalf("deployment %s stuck at %s\n%s", id, d.Status, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	first := wait(callHook(t, hookURL))
	if first.Status != "SUCCESS" {
		out, _ := cl.Logs(ctx, first.DeploymentID, "")
		t.Fatalf("first deployment %s\n%s", first.Status, out)
	}

	wantLabels := map[string]string{kube.LabelManagedBy: "liftoff", kube.LabelProject: project.ProjectID,
		kube.LabelPR: "0"}
	for _, svc := range []string{"web", "worker", "site"} {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, svc, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("Deployment %s: %v", svc, err)
		}
		for k, v := range wantLabels {
			if d.Labels[k] != v {
				t.Errorf("Deployment %s: label %s = %q, want %q", svc, k, d.Labels[k], v)
			}
		}
		if d.Labels[kube.LabelService] != svc || d.Labels[kube.LabelDeployment] == "" {
			t.Errorf("Deployment %s: labels %v", svc, d.Labels)
		}
		if !applied(d.ManagedFields) {
			t.Errorf("Deployment %s was not applied by the field manager liftoff: %+v", svc, d.ManagedFields)
		}
		want := int32(1)
		if svc == "web" {
			want = 2
		}
		if d.Status.AvailableReplicas != want {
			t.Errorf("Deployment %s: %d available replicas, want %d", svc, d.Status.AvailableReplicas, want)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, regHost+"/team/") || !strings.Contains(img, "@sha256:") {
			t.Errorf("Deployment %s runs %s, want a digest in the registry", svc, img)
		}
	}
	if _, err := c.Client.BatchV1().CronJobs(ns).Get(ctx, "cron-nightly", metav1.GetOptions{}); err != nil {
		t.Errorf("the scheduled job's CronJob: %v", err)
	}
	ing, err := c.Client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || ing.Spec.Rules[0].Host != "shop.example.com" {
		t.Errorf("web's Ingress: %v %+v", err, ing)
	}
	detail, err := cl.Service(ctx, service(t, first, "web").Service.ServiceID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(detail.Instances) != 1 || len(detail.Instances[0].Pods) != 2 || detail.Instances[0].State != "running" {
		t.Errorf("Get Service: %+v, want one instance of 2 running pods", detail.Instances)
	}
	webV1, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imageV1 := webV1.Spec.Template.Spec.Containers[0].Image

	// A second commit changes web; a redeploy of the first puts v1's
	// image back without building.
	repo.Commit("v2", map[string]string{"version.txt": "v2"})
	second := wait(callHook(t, hookURL))
	if second.Status != "SUCCESS" {
		t.Fatalf("second deployment %s", second.Status)
	}
	webV2, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if webV2.Spec.Template.Spec.Containers[0].Image == imageV1 {
		t.Fatal("the second deployment did not change web's image")
	}
	re, err := cl.RedeployDeployment(ctx, first.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	back := wait(re.DeploymentID)
	if back.Status != "SUCCESS" {
		t.Fatalf("redeploy %s", back.Status)
	}
	out, err := cl.Logs(ctx, back.DeploymentID, "web")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "buildCommand") || !strings.Contains(out, "Releasing again the published image") {
		t.Errorf("the redeploy built again, or did not say what it released:\n%s", out)
	}
	webBack, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := webBack.Spec.Template.Spec.Containers[0].Image; got != imageV1 {
		t.Errorf("after the redeploy web runs %s, want v1's %s", got, imageV1)
	}
	if _, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), func(d *appsv1.Deployment) bool {
		return d.Name == "web" && d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == 2 && d.Status.UpdatedReplicas == 2
	}); err != nil {
		t.Errorf("web did not roll back out: %v", err)
	}

	// Stopped, Liftoff leaves none of the layers it packed (the liftoff
	// binary's, kept for the static sites) in its data directory.
	if err := srv.stop(); err != nil {
		t.Fatalf("stop liftoff: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dataDir, "tmp", "*")); len(left) > 0 {
		t.Errorf("left in the data directory after a stop: %v", left)
	}
}

func applied(mf []metav1.ManagedFieldsEntry) bool {
	for _, e := range mf {
		if e.Manager == kube.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}
