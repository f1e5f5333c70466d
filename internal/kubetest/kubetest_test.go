package kubetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/liftoffhq/liftoff/internal/kubetest"
)

var cluster kubetest.Shared

func TestMain(m *testing.M) { os.Exit(cluster.Run(m)) }

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// deployment is a Deployment of replicas pods of one container, its pod
// template labelled with extra labels.
func deployment(name string, replicas int32, extra map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	podLabels := map[string]string{"app": name}
	for k, v := range extra {
		podLabels[k] = v
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "web", Image: "registry.invalid/web:1"}},
				},
			},
		},
	}
}

// rolledOut is what `kubectl rollout status` waits for.
func rolledOut(name string, generation int64, replicas int32) func(*appsv1.Deployment) bool {
	return func(d *appsv1.Deployment) bool {
		return d.Name == name && d.Status.ObservedGeneration >= generation &&
			d.Status.UpdatedReplicas == replicas && d.Status.AvailableReplicas == replicas &&
			d.Status.Replicas == replicas
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func pods(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, app string) []corev1.Pod {
	t.Helper()
	list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// A Deployment of 2 replicas rolls out: the controller manager makes a
// ReplicaSet and its pods, the scheduler puts them on kwok's nodes, kwok
// runs them Ready, and the Deployment counts them available; a Service
// selecting them lists them as its endpoints.
func TestDeploymentRollsOut(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)

	created, err := c.Client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 2, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	d, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), rolledOut("web", created.Generation, 2))
	if err != nil {
		t.Fatalf("wait for the rollout: %v", err)
	}
	t.Logf("rolled out in %v", time.Since(began).Round(time.Millisecond))
	var available bool
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
			available = true
		}
	}
	if !available {
		t.Errorf("Deployment's conditions = %+v, want Available True", d.Status.Conditions)
	}
	got := pods(ctx, t, c.Client, ns, "web")
	if len(got) != 2 {
		t.Fatalf("%d pods, want 2", len(got))
	}
	for _, p := range got {
		if p.Status.Phase != corev1.PodRunning || !podReady(&p) || !slices.Contains(c.Nodes, p.Spec.NodeName) || p.Status.PodIP == "" {
			t.Errorf("pod %s: phase %s, ready %t, node %q, IP %q; want Running, Ready, on a kwok node, with an IP",
				p.Name, p.Status.Phase, podReady(&p), p.Spec.NodeName, p.Status.PodIP)
		}
	}

	// A Service in front of them gets both pods as ready endpoints.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kubetest.Until(ctx, c.Client.DiscoveryV1().EndpointSlices(ns), func(s *discoveryv1.EndpointSlice) bool {
		ready := 0
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready++
			}
		}
		return s.Labels[discoveryv1.LabelServiceName] == "web" && ready == 2
	}); err != nil {
		t.Fatalf("wait for the Service's 2 ready endpoints: %v", err)
	}
}

// A Deployment whose pods carry a never-ready marker gets its pods, Running
// and not Ready, and stays unavailable until its progress deadline passes;
// a Deployment made after it, unmarked, rolls out meanwhile.
func TestNeverReadyStaysUnavailable(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	for _, tc := range []struct {
		name   string
		mark   func(*appsv1.Deployment)
		marker string
	}{
		{"label", func(d *appsv1.Deployment) {
			d.Spec.Template.Labels[kubetest.NeverReadyLabel] = "true"
		}, kubetest.NeverReadyLabel},
		{"probe", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
				ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Path: kubetest.NeverReadyPath, Port: intstr.FromInt32(8080),
				}},
			}
		}, kubetest.NeverReadyPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			ctx := timeout(t)
			stuck := deployment("stuck", 2, nil)
			tc.mark(stuck)
			deadline := int32(3)
			stuck.Spec.ProgressDeadlineSeconds = &deadline
			if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, stuck, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}

			// Both pods come up Running, not Ready: kwok's last word on
			// them, as no stage matches a pod that has an IP.
			seen := map[string]bool{}
			if _, err := kubetest.Until(ctx, c.Client.CoreV1().Pods(ns), func(p *corev1.Pod) bool {
				if p.Labels["app"] == "stuck" && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" && !podReady(p) {
					seen[p.Name] = true
				}
				return len(seen) == 2
			}); err != nil {
				t.Fatalf("wait for 2 running pods not ready: %v", err)
			}
			// The deployment controller gives up on it.
			d, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), func(d *appsv1.Deployment) bool {
				for _, cond := range d.Status.Conditions {
					if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse {
						return cond.Reason == "ProgressDeadlineExceeded"
					}
				}
				return false
			})
			if err != nil {
				t.Fatalf("wait for the progress deadline: %v", err)
			}
			if d.Status.AvailableReplicas != 0 || d.Status.UnavailableReplicas != 2 || d.Status.UpdatedReplicas != 2 {
				t.Errorf("status %+v: want 2 updated, 0 available, 2 unavailable", d.Status)
			}

			// An unmarked Deployment made after it rolls out: kwok has
			// handled what came later, and the marked pods still are not
			// Ready.
			ok, err := c.Client.AppsV1().Deployments(ns).Create(ctx, deployment("ok", 1, nil), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), rolledOut("ok", ok.Generation, 1)); err != nil {
				t.Fatalf("wait for the unmarked rollout: %v", err)
			}
			for _, p := range pods(ctx, t, c.Client, ns, "stuck") {
				if p.Status.Phase != corev1.PodRunning || podReady(&p) {
					t.Errorf("pod %s (%s): phase %s, ready %t; want Running, not Ready", p.Name, tc.marker, p.Status.Phase, podReady(&p))
				}
			}
			d, err = c.Client.AppsV1().Deployments(ns).Get(ctx, "stuck", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status.AvailableReplicas != 0 {
				t.Errorf("%d replicas of the never-ready Deployment available, want 0", d.Status.AvailableReplicas)
			}
		})
	}
}

// A Job's pod runs and succeeds; with FailLabel it fails, and so does the
// Job.
func TestJobs(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	job := func(name string, labels map[string]string) *batchv1.Job {
		none := int32(0)
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				BackoffLimit: &none,
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "migrate", Image: "registry.invalid/web:1", Command: []string{"migrate"}}},
					},
				},
			},
		}
	}
	for _, j := range []*batchv1.Job{job("succeeds", nil), job("fails", map[string]string{kubetest.FailLabel: "true"})} {
		if _, err := c.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]batchv1.JobConditionType{"succeeds": batchv1.JobComplete, "fails": batchv1.JobFailed} {
		if _, err := kubetest.Until(ctx, c.Client.BatchV1().Jobs(ns), func(j *batchv1.Job) bool {
			if j.Name != name {
				return false
			}
			for _, cond := range j.Status.Conditions {
				if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
					if cond.Type != want {
						t.Errorf("job %s: %s, want %s", name, cond.Type, want)
					}
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("wait for job %s to end: %v", name, err)
		}
	}
}

// Where the binaries are missing, New says how to build them.
func TestMissingToolsSayHowToBuild(t *testing.T) {
	t.Setenv(kubetest.ToolsEnv, filepath.Join(t.TempDir(), "none"))
	_, err := kubetest.New(context.Background(), t.TempDir(), kubetest.Options{})
	if !errors.Is(err, kubetest.ErrNoTools) || !strings.Contains(err.Error(), "make kube-tools") {
		t.Fatalf("New without tools: %v; want ErrNoTools saying to run make kube-tools", err)
	}
}

// The build script and this package agree on where the tools are.
func TestScriptAgreesOnToolsDir(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	script := filepath.Join("..", "..", ".ci", "kube-tools")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	for _, override := range []string{"", filepath.Join(cache, "elsewhere")} {
		t.Setenv(kubetest.ToolsEnv, override)
		out, err := exec.Command("bash", script, "--dir").Output()
		if err != nil {
			t.Fatalf("%s --dir: %v", script, err)
		}
		want, err := kubetest.ToolsDir()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("with %s=%q the script builds into %s, the package looks in %s", kubetest.ToolsEnv, override, got, want)
		}
	}
}

// A control plane of its own for one test, with two nodes: pods that must
// not share a node land one on each.
func TestStartWithTwoNodes(t *testing.T) {
	t.Parallel()
	c := kubetest.Start(t, kubetest.Options{Nodes: 2})
	if len(c.Nodes) != 2 {
		t.Fatalf("nodes %v, want 2", c.Nodes)
	}
	ns := c.Namespace(t)
	ctx := timeout(t)
	d := deployment("spread", 2, nil)
	d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "spread"}},
			TopologyKey:   "kubernetes.io/hostname",
		}},
	}}
	created, err := c.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), rolledOut("spread", created.Generation, 2)); err != nil {
		t.Fatalf("wait for the rollout: %v", err)
	}
	var nodes []string
	for _, p := range pods(ctx, t, c.Client, ns, "spread") {
		nodes = append(nodes, p.Spec.NodeName)
	}
	slices.Sort(nodes)
	if !slices.Equal(nodes, c.Nodes) {
		t.Errorf("pods on nodes %v, want one on each of %v", nodes, c.Nodes)
	}
}
