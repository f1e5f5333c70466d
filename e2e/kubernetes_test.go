package e2e

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/gittest"
	"github.com/liftoffhq/liftoff/internal/kubetest"
	"github.com/liftoffhq/liftoff/internal/target/kube"
)

// kubeServices are the four kinds of services the kubernetes target runs.
const kubeServices = `[
    {"id": "web", "type": "web", "port": 3000, "minInstances": 2, "healthCheckPath": "/health",
     "domain": "shop.example.com", "buildCommand": "echo built > built.txt", "startCommand": "./server",
     "envVariables": {"GREETING": "hello"}},
    {"id": "worker", "type": "worker", "startCommand": "./work"},
    {"id": "site", "type": "static", "buildCommand": "mkdir -p dist && cp index.html dist/", "outputDirectory": "dist"},
    {"id": "cron", "type": "scheduler", "jobs": {"nightly": {"startCommand": "./report", "schedule": "0 3 * * *"}}}
  ]`

// kubeConfig is a project whose production and preview environments run
// services on the cluster through the environments' target.
func kubeConfig(namespace, registry, production, previews string) string {
	target := `{"type": "kubernetes", "namespace": "` + namespace + `", "registry": "` + registry + `"}`
	return `{"environments": [
  {"id": "production", "source": {"branch": "main"}, "target": ` + target + `, "services": ` + production + `},
  {"id": "preview", "source": {"pr": true}, "target": ` + target + `, "services": ` + previews + `}]}`
}

// kubeFixture is a running Liftoff with a cluster and a registry, and a
// project whose services deploy there.
type kubeFixture struct {
	t       *testing.T
	ctx     context.Context
	c       *kubetest.Cluster
	ns      string
	regHost string
	dataDir string
	srv     *instance
	cl      *client.Client
	repo    *gittest.Repo
	project client.Project
}

// newKubeFixture starts the cluster (once for the package), an
// in-process registry holding a base image, and Liftoff with
// --kubeconfig, and creates the project from a repository whose config
// config makes of the namespace and registry.
func newKubeFixture(t *testing.T, config func(ns, registry string) string) *kubeFixture {
	t.Helper()
	c := kubeCluster.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	f := &kubeFixture{t: t, ctx: ctx, c: c, ns: c.Namespace(t)}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	f.regHost = strings.TrimPrefix(reg.URL, "http://")
	base, err := name.ParseReference(f.regHost+"/base:1", name.Insecure)
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

	f.dataDir = t.TempDir()
	flags := storeFlags(t, "sqlite", f.dataDir)
	key := bootstrapKey(t, flags)
	f.srv = start(t, append(append(append(flags, sandboxFlags...), allowTempRepos()...),
		"--kubeconfig", c.Kubeconfig, "--kube-base-image", base.String(), "--kube-rollout-timeout", "2m"), &logLines{})
	f.cl = client.New(f.srv.url(), key)

	f.repo = gittest.New(t)
	f.repo.Commit("shop", map[string]string{
		"liftoff.json": config(f.ns, f.regHost+"/team"),
		"index.html":   "<h1>site v1</h1>",
		"version.txt":  "v1",
	})
	if f.project, err = f.cl.CreateProjectWith(ctx, client.NewProject{Name: "shop", RepoURL: f.repo.Dir}); err != nil {
		t.Fatal(err)
	}
	return f
}

// hookURL makes a hook of the environment and returns its URL on the
// server, with {prNumber} and {commitSHA} left for a preview's.
func (f *kubeFixture) hookURL(env int) string {
	f.t.Helper()
	hook, err := f.cl.CreateHook(f.ctx, f.project.Environments[env].EnvironmentID, "CI")
	if err != nil {
		f.t.Fatal(err)
	}
	return f.srv.url() + hook.URL[strings.Index(hook.URL, "/api/"):]
}

// wait polls a deployment until it has ended.
func (f *kubeFixture) wait(id string) client.Deployment {
	f.t.Helper()
	for {
		d, err := f.cl.Deployment(f.ctx, id)
		if err != nil {
			f.t.Fatal(err)
		}
		if isFinal(d.Status) {
			return d
		}
		if f.ctx.Err() != nil {
			out, _ := f.cl.Logs(context.Background(), id, "")
			f.t.Fatalf("deployment %s stuck at %s\n%s", id, d.Status, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deploy calls a hook and waits for its deployment to succeed.
func (f *kubeFixture) deploy(url string) client.Deployment {
	f.t.Helper()
	d := f.wait(callHook(f.t, url))
	if d.Status != "SUCCESS" {
		out, _ := f.cl.Logs(f.ctx, d.DeploymentID, "")
		f.t.Fatalf("deployment %s\n%s", d.Status, out)
	}
	return d
}

// TestKubernetesTarget deploys a project with a web service, a worker, a
// static site and a scheduled job to a real control plane through a hook:
// the images are packed and pushed to a registry, the objects applied
// with the right labels and field manager, the rollouts complete, and Get
// Deployment reports SUCCESS. A redeploy of the first deployment then
// applies its images again without building.
func TestKubernetesTarget(t *testing.T) {
	t.Parallel()
	f := newKubeFixture(t, func(ns, reg string) string { return kubeConfig(ns, reg, kubeServices, "[]") })
	c, ns, ctx, cl, project, regHost := f.c, f.ns, f.ctx, f.cl, f.project, f.regHost
	hookURL := f.hookURL(0)
	wait := f.wait
	first := f.deploy(hookURL)

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
	f.repo.Commit("v2", map[string]string{"version.txt": "v2"})
	f.deploy(hookURL)
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
	if err := f.srv.stop(); err != nil {
		t.Fatalf("stop liftoff: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.dataDir, "tmp", "*")); len(left) > 0 {
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

// TestKubernetesPreviews: two previews run in the cluster beside
// production, each its own objects; tearing one down deletes its objects
// and leaves the other's and production's.
func TestKubernetesPreviews(t *testing.T) {
	t.Parallel()
	web := `[{"id": "web", "type": "web", "port": 3000, "buildCommand": "true", "startCommand": "./server"}]`
	f := newKubeFixture(t, func(ns, reg string) string { return kubeConfig(ns, reg, web, web) })
	f.deploy(f.hookURL(0))
	preview := f.hookURL(1)
	for _, pr := range []string{"1", "2"} {
		f.repo.Git("checkout", "-q", "-B", "feature-"+pr, "main")
		sha := f.repo.Commit("pr "+pr, map[string]string{"version.txt": "pr" + pr})
		f.repo.Git("checkout", "-q", "main")
		d := f.deploy(strings.NewReplacer("{prNumber}", pr, "{commitSHA}", sha).Replace(preview))
		if d.PRNumber == nil || strconv.Itoa(*d.PRNumber) != pr {
			t.Fatalf("preview deployment of PR %s: %+v", pr, d.PRNumber)
		}
	}
	deployments := func() []string {
		l, err := f.c.Client.AppsV1().Deployments(f.ns).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range l.Items {
			if d.DeletionTimestamp == nil {
				out = append(out, d.Name+"@"+d.Labels[kube.LabelPR])
			}
		}
		slices.Sort(out)
		return out
	}
	if got := strings.Join(deployments(), " "); got != "web-pr-1@1 web-pr-2@2 web@0" {
		t.Fatalf("Deployments = %s, want production's and both previews'", got)
	}
	if _, err := f.cl.DeletePreview(f.ctx, f.project.Environments[1].EnvironmentID, 1); err != nil {
		t.Fatal(err)
	}
	// The janitor cleans it: watch PR 1's Deployment until it is deleted.
	waitDeleted(t, f.ctx, f.c, f.ns, "web-pr-1")
	if _, err := f.c.Client.CoreV1().Services(f.ns).Get(f.ctx, "web-pr-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("PR 1's Service after its teardown: %v", err)
	}
	if got := strings.Join(deployments(), " "); got != "web-pr-2@2 web@0" {
		t.Errorf("after PR 1's teardown, Deployments = %s, want PR 2's and production's", got)
	}
	for _, name := range []string{"web", "web-pr-2"} {
		if _, err := f.c.Client.CoreV1().Services(f.ns).Get(f.ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("Service %s after PR 1's teardown: %v", name, err)
		}
	}
}

// waitDeleted waits until the Deployment is deleted, on a watch from its
// last version.
func waitDeleted(t *testing.T, ctx context.Context, c *kubetest.Cluster, ns, name string) {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name,
		ResourceVersion: d.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Deleted {
			return
		}
	}
	t.Fatalf("Deployment %s/%s was not deleted: %v", ns, name, context.Cause(ctx))
}
