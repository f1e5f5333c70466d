package kube_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/kubetest"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
	"github.com/liftoffhq/liftoff/internal/target/kube"
)

var cluster kubetest.Shared

func TestMain(m *testing.M) { os.Exit(cluster.Run(m)) }

// images publishes nothing: the releases of these tests name their image
// already (kwok's pods pull nothing).
type images struct{}

func (images) Publish(_ context.Context, rel target.Release, _ string) (string, error) {
	return rel.Image, nil
}

// lockedBuffer is a release's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTarget(t *testing.T, c *kubetest.Cluster, ns string, rollout time.Duration) *kube.Target {
	t.Helper()
	tg, err := kube.New(kube.Config{REST: c.Config, Images: images{}, RolloutTimeout: rollout,
		Defaults: kube.Settings{Namespace: ns, Registry: "registry.invalid/team"}})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func webService(id string) config.Service {
	return config.Service{ID: id, Type: config.TypeWeb, Port: 3000, HealthCheckPath: "/health", HealthCheckTimeoutSecs: 30,
		HealthCheckIntervalSecs: 10, VersionHistoryCount: 5, MinInstances: 2, StartCommand: config.Command{Line: "node server.js"},
		Target: config.Target{Type: config.TargetKubernetes}}
}

func release(id string, inst target.Instance, svc config.Service, image string, log *lockedBuffer) target.Release {
	return target.Release{ID: id, Instance: inst, Service: svc, Image: image, Log: log, Scrub: redact.New("s3cret"),
		Env: []string{"GREETING=hello", "API_TOKEN=s3cret"}, Hosts: []string{"app.example.com", svc.ID + ".production.localhost"}}
}

var prod = target.Instance{ProjectID: "p1", EnvironmentID: 7, EnvGivenID: "production"}

// A web service deploys as a Deployment of minInstances replicas, a
// Service, an Ingress for its domain and a Secret of its environment,
// each labelled and applied by the field manager liftoff; Deploy returns
// once the rollout is complete.
func TestDeployWebService(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	log := &lockedBuffer{}
	svc := webService("web")
	if err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("a", 64), log)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != 2 || d.Status.UpdatedReplicas != 2 {
		t.Errorf("Deploy returned before the rollout: %+v", d.Status)
	}
	wantLabels := map[string]string{kube.LabelManagedBy: "liftoff", kube.LabelProject: "p1", kube.LabelEnvironment: "7",
		kube.LabelPR: "0", kube.LabelService: "web", kube.LabelDeployment: "dep1"}
	for k, v := range wantLabels {
		if d.Labels[k] != v || d.Spec.Template.Labels[k] != v {
			t.Errorf("label %s = %q (template %q), want %q", k, d.Labels[k], d.Spec.Template.Labels[k], v)
		}
	}
	if !appliedByLiftoff(d.ManagedFields) {
		t.Errorf("managed fields %+v: want an Apply by liftoff", d.ManagedFields)
	}
	ctr := d.Spec.Template.Spec.Containers[0]
	if ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet.Path != "/health" || ctr.LivenessProbe == nil {
		t.Errorf("probes = %+v / %+v, want the health check", ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	if len(ctr.EnvFrom) != 1 || ctr.EnvFrom[0].SecretRef == nil {
		t.Fatalf("envFrom = %+v, want the environment's Secret", ctr.EnvFrom)
	}
	sec, err := c.Client.CoreV1().Secrets(ns).Get(ctx, ctr.EnvFrom[0].SecretRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["API_TOKEN"]) != "s3cret" || sec.Immutable == nil || !*sec.Immutable {
		t.Errorf("secret = %v immutable %v", sec.Data, sec.Immutable)
	}
	// Names only: which values ReadLog scrubs from the pods' logs.
	if got := sec.Annotations[kube.AnnotationSecretKeys]; got != "API_TOKEN" {
		t.Errorf("secret keys annotation = %q, want API_TOKEN (the one secret variable)", got)
	}
	if strings.Contains(d.String(), "s3cret") {
		t.Error("the Deployment holds a secret's value")
	}
	s, err := c.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Spec.Selector[kube.LabelService] != "web" || s.Spec.Ports[0].Port != 80 {
		t.Errorf("service = %+v", s.Spec)
	}
	ing, err := c.Client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "app.example.com" {
		t.Errorf("ingress rules = %+v, want app.example.com only", ing.Spec.Rules)
	}
	if len(ing.Spec.TLS) != 0 || len(ing.Annotations) != 0 {
		t.Errorf("ingress TLS %+v, annotations %v: want none unless the operator asks", ing.Spec.TLS, ing.Annotations)
	}
	if got := tg.Domain(svc, []string{"app.example.com"}); got != "https://app.example.com" {
		t.Errorf("Domain = %q", got)
	}
}

func appliedByLiftoff(mf []metav1.ManagedFieldsEntry) bool {
	for _, e := range mf {
		if e.Manager == kube.FieldManager && e.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// A rollout whose pods never become ready fails the release within the
// rollout timeout, and the previous release's ReplicaSet keeps every
// replica; the Deployment is back on its pod template.
func TestFailedRolloutRollsBack(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	// The good release may take its time on a loaded machine; the bad
	// one fails after 15 s.
	tg := newTarget(t, c, ns, 15*time.Second)
	log := &lockedBuffer{}
	good := "registry.invalid/team/api@sha256:" + strings.Repeat("1", 64)
	svc := webService("api")
	if err := newTarget(t, c, ns, 2*time.Minute).Deploy(ctx, release("dep1", prod, svc, good, log)); err != nil {
		t.Fatalf("first Deploy: %v\n%s", err, log)
	}
	bad := svc
	bad.HealthCheckPath = kubetest.NeverReadyPath
	err := tg.Deploy(ctx, release("dep2", prod, bad, "registry.invalid/team/api@sha256:"+strings.Repeat("2", 64), log))
	if err == nil {
		t.Fatal("a rollout that never becomes ready succeeded")
	}
	t.Logf("Deploy: %v", err)
	d, err := kubetest.Until(ctx, c.Client.AppsV1().Deployments(ns), func(d *appsv1.Deployment) bool {
		return d.Name == "api" && d.Spec.Template.Spec.Containers[0].Image == good &&
			d.Status.ObservedGeneration >= d.Generation && d.Status.AvailableReplicas == 2 && d.Status.UpdatedReplicas == 2
	})
	if err != nil {
		t.Fatalf("the Deployment did not come back to the previous release: %v\n%s", err, log)
	}
	if d.Labels[kube.LabelDeployment] != "dep1" {
		t.Errorf("deployment label = %q, want dep1's", d.Labels[kube.LabelDeployment])
	}
	rss, err := c.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelService + "=api"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rss.Items {
		img := rs.Spec.Template.Spec.Containers[0].Image
		if img == good && (rs.Status.AvailableReplicas != 2 || rs.Status.ObservedGeneration < rs.Generation) {
			t.Errorf("the previous ReplicaSet %s has %d available replicas, want 2", rs.Name, rs.Status.AvailableReplicas)
		}
	}
	if !strings.Contains(log.String(), "Rolling back") {
		t.Errorf("log does not say it rolled back:\n%s", log)
	}
}

// Tearing down one preview deletes its objects, and leaves another
// preview's, production's and objects Liftoff does not manage.
func TestStopInstanceDeletesOnlyItsOwn(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	log := &lockedBuffer{}
	svc := webService("web")
	svc.MinInstances = 1
	image := "registry.invalid/team/web@sha256:" + strings.Repeat("b", 64)
	pr1, pr2 := prod, prod
	pr1.PRNumber, pr2.PRNumber = 1, 2
	for i, inst := range []target.Instance{prod, pr1, pr2} {
		if err := tg.Deploy(ctx, release("d"+string(rune('0'+i)), inst, svc, image, log)); err != nil {
			t.Fatalf("Deploy %s: %v\n%s", inst.Key(), err, log)
		}
	}
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "not-liftoffs", Labels: map[string]string{kube.LabelPR: "1"}}}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tg.StopInstance(ctx, pr1); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	names := func() []string {
		l, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range l.Items {
			if d.DeletionTimestamp == nil {
				out = append(out, d.Name)
			}
		}
		return out
	}
	got := strings.Join(names(), ",")
	if got != "web,web-pr-2" {
		t.Errorf("Deployments left = %s, want web,web-pr-2", got)
	}
	for _, name := range []string{"web-pr-1"} {
		if _, err := c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			t.Errorf("Service %s survived its teardown", name)
		}
	}
	for _, name := range []string{"web", "web-pr-2"} {
		if _, err := c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("Service %s: %v", name, err)
		}
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "not-liftoffs", metav1.GetOptions{}); err != nil {
		t.Errorf("an object Liftoff does not manage: %v", err)
	}
	secrets, err := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelPR + "=1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 0 {
		t.Errorf("%d Secrets of the torn down preview left", len(secrets.Items))
	}
}

// An object of the service's name that Liftoff does not manage stops the
// release, and stays as it was.
func TestRefusesObjectsItDoesNotManage(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, time.Minute)
	replicas := int32(3)
	theirs := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "ops"}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "theirs:1"}}}}}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := tg.Deploy(ctx, release("dep1", prod, webService("web"), "registry.invalid/x@sha256:"+strings.Repeat("c", 64), &lockedBuffer{}))
	if err == nil || !strings.Contains(err.Error(), "not Liftoff's") {
		t.Fatalf("Deploy = %v, want a refusal naming the object", err)
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Template.Spec.Containers[0].Image != "theirs:1" || *d.Spec.Replicas != 3 {
		t.Errorf("their Deployment changed: %+v", d.Spec)
	}
}

// A scheduler's jobs become CronJobs, a manual one suspended; its
// preDeployCommand runs first in a Job of the image, which must succeed.
func TestSchedulerAndPreDeploy(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	log := &lockedBuffer{}
	svc := config.Service{ID: "cron", Type: config.TypeScheduler, VersionHistoryCount: 5,
		PreDeployCommand: config.Command{Line: "migrate"}, Target: config.Target{Type: config.TargetKubernetes},
		Jobs: map[string]config.Job{
			"nightly": {StartCommand: config.Command{Line: "report"}, Schedule: "0 3 * * *", Timezone: "Europe/Paris"},
			"by-hand": {StartCommand: config.Command{Line: "cleanup"}, Schedule: "manual"},
			"often":   {StartCommand: config.Command{Line: "tick"}, Schedule: "rate(15 minutes)"},
		}}
	if err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/team/cron@sha256:"+strings.Repeat("d", 64), log)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelService + "=cron"})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 1 || jobs.Items[0].Status.Succeeded != 1 {
		t.Errorf("pre-deploy jobs = %d (%+v), want one that succeeded", len(jobs.Items), jobs.Items)
	}
	want := map[string]struct {
		schedule string
		suspend  bool
	}{"cron-nightly": {"0 3 * * *", false}, "cron-by-hand": {"0 0 1 1 *", true}, "cron-often": {"*/15 * * * *", false}}
	for name, w := range want {
		cj, err := c.Client.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("CronJob %s: %v", name, err)
			continue
		}
		if cj.Spec.Schedule != w.schedule || (cj.Spec.Suspend != nil && *cj.Spec.Suspend) != w.suspend {
			t.Errorf("CronJob %s: schedule %q suspend %v, want %q %v", name, cj.Spec.Schedule, cj.Spec.Suspend, w.schedule, w.suspend)
		}
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "cron", metav1.GetOptions{}); err == nil {
		t.Error("a scheduler got a Deployment")
	}
}

func TestCronSchedule(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"*/5 * * * *": "*/5 * * * *", "rate(1 hour)": "0 */1 * * *", "rate(6 hours)": "0 */6 * * *",
		"rate(1 day)": "0 0 * * *", "rate(20 minutes)": "*/20 * * * *",
		"@daily": "@daily", "@hourly": "@hourly", "@weekly": "@weekly", "@monthly": "@monthly", "@yearly": "@yearly"} {
		got, suspend, err := kube.CronSchedule(in)
		if err != nil || got != want || suspend {
			t.Errorf("CronSchedule(%q) = %q, %v, %v; want %q", in, got, suspend, err, want)
		}
	}
	for _, bad := range []string{"rate(7 minutes)", "rate(2 days)", "cron(0 3 * * ? *)"} {
		if _, _, err := kube.CronSchedule(bad); err == nil || !strings.Contains(err.Error(), "five cron fields") {
			t.Errorf("CronSchedule(%q) = %v, want a refusal saying how to write it", bad, err)
		}
	}
}

// The pods get the service's variables, not the Liftoff host's basics
// (PATH, HOME, locale, proxies ...) that a release's environment starts
// from: those would replace the image's own, as for a container on the
// local target.
func TestSecretLeavesOutTheHostsEnvironment(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	log := &lockedBuffer{}
	svc := webService("web")
	svc.MinInstances = 1
	rel := release("dep1", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("e", 64), log)
	rel.Env = append(steps.BaseEnv(), "GREETING=hello", "TZ=Europe/Paris")
	if err := tg.Deploy(ctx, rel); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := c.Client.CoreV1().Secrets(ns).Get(ctx, d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range steps.BaseEnv() {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := sec.Data[k]; ok && string(got) == v && k != "TZ" {
			t.Errorf("the Secret holds the Liftoff host's %s", kv)
		}
	}
	if string(sec.Data["GREETING"]) != "hello" || string(sec.Data["TZ"]) != "Europe/Paris" {
		t.Errorf("the Secret lost the service's own variables: %v", sec.Data)
	}
}

// The pods of a web service's deploy commands (Jobs of its image, with
// its port and no probe) are not behind its Service: only the
// Deployment's pods get its traffic.
func TestServiceSelectsOnlyTheDeploymentsPods(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	log := &lockedBuffer{}
	svc := webService("web")
	svc.MinInstances = 1
	svc.PreDeployCommand = config.Command{Line: "migrate"}
	svc.PostDeployCommand = config.Command{Line: "warm"}
	if err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("f", 64), log)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	s, err := c.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.Spec.Selector).String()})
	if err != nil {
		t.Fatal(err)
	}
	jobs, deployment := 0, 0
	for _, p := range pods.Items {
		if p.Labels["job-name"] != "" {
			jobs++
			t.Errorf("the Service selects pod %s of Job %s", p.Name, p.Labels["job-name"])
		} else {
			deployment++
		}
	}
	if deployment != 1 {
		t.Errorf("the Service selects %d pods of the Deployment, want 1", deployment)
	}
	all, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != 2 {
		t.Errorf("%d Jobs, want the predeploy's and the postdeploy's", len(all.Items))
	}
}

// A CronJob of a job's name that Liftoff does not manage stops the
// release, and stays as it was.
func TestRefusesCronJobsItDoesNotManage(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, time.Minute)
	theirs := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "cron-nightly", Labels: map[string]string{"team": "ops"}},
		Spec: batchv1.CronJobSpec{Schedule: "0 1 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "backup", Image: "theirs:1"}}}}}}}}
	if _, err := c.Client.BatchV1().CronJobs(ns).Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := schedulerService("cron", map[string]string{"nightly": "0 3 * * *"})
	err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/x@sha256:"+strings.Repeat("c", 64), &lockedBuffer{}))
	if err == nil || !strings.Contains(err.Error(), "not Liftoff's") {
		t.Fatalf("Deploy = %v, want a refusal naming the CronJob", err)
	}
	cj, err := c.Client.BatchV1().CronJobs(ns).Get(ctx, "cron-nightly", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cj.Spec.Schedule != "0 1 * * *" || cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != "theirs:1" ||
		cj.Labels[kube.LabelManagedBy] != "" {
		t.Errorf("their CronJob changed: %+v %v", cj.Spec, cj.Labels)
	}
}

func schedulerService(id string, schedules map[string]string) config.Service {
	jobs := map[string]config.Job{}
	for job, schedule := range schedules {
		jobs[job] = config.Job{StartCommand: config.Command{Line: "run " + job}, Schedule: schedule}
	}
	return config.Service{ID: id, Type: config.TypeScheduler, VersionHistoryCount: 5, Jobs: jobs,
		Target: config.Target{Type: config.TargetKubernetes}}
}

// A job taken out of a scheduler's config stops running: its CronJob goes
// with the next release, and so do the Secrets of the releases before.
// Another scheduler's CronJobs stay.
func TestRemovedJobsCronJobGoes(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, time.Minute)
	log := &lockedBuffer{}
	image := "registry.invalid/team/cron@sha256:" + strings.Repeat("d", 64)
	other := schedulerService("other", map[string]string{"hourly": "0 * * * *"})
	if err := tg.Deploy(ctx, release("o1", prod, other, image, log)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	rel := release("dep1", prod, schedulerService("cron", map[string]string{"nightly": "0 3 * * *", "weekly": "0 4 * * 0"}), image, log)
	if err := tg.Deploy(ctx, rel); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	rel = release("dep2", prod, schedulerService("cron", map[string]string{"nightly": "0 3 * * *"}), image, log)
	rel.Env = []string{"GREETING=bonjour"}
	if err := tg.Deploy(ctx, rel); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	l, err := c.Client.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cj := range l.Items {
		if cj.DeletionTimestamp == nil {
			names = append(names, cj.Name)
		}
	}
	if got := strings.Join(names, ","); got != "cron-nightly,other-hourly" {
		t.Errorf("CronJobs = %s, want cron-nightly,other-hourly", got)
	}
	secrets, err := c.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: kube.LabelService + "=cron"})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items) != 1 {
		t.Errorf("%d Secrets of the scheduler, want the last release's only", len(secrets.Items))
	}
}

// A deploy command's Job that does not end within the rollout timeout
// fails the release and is stopped: it does not go on running (a
// migration) after the release gave up on it.
func TestUnfinishedJobIsStopped(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	// No pod may start in the namespace: the Job waits for one forever.
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
	if _, err := c.Client.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Enforced once the quota controller has counted the namespace.
	if _, err := kubetest.Until(ctx, c.Client.CoreV1().ResourceQuotas(ns), func(q *corev1.ResourceQuota) bool {
		_, counted := q.Status.Hard[corev1.ResourcePods]
		return q.Name == "no-pods" && counted
	}); err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, c, ns, 5*time.Second)
	svc := config.Service{ID: "worker", Type: config.TypeWorker, VersionHistoryCount: 5, StartCommand: config.Command{Line: "work"},
		PreDeployCommand: config.Command{Line: "migrate"}, Target: config.Target{Type: config.TargetKubernetes}}
	log := &lockedBuffer{}
	err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/x@sha256:"+strings.Repeat("9", 64), log))
	if err == nil || !strings.Contains(err.Error(), "preDeployCommand") || !strings.Contains(err.Error(), "within 5s (no pod was created") {
		t.Fatalf("Deploy = %v, want the predeploy Job's failure, saying why\n%s", err, log)
	}
	// A deployment that ends first (cancelled, or its own deadline) says
	// so, not the rollout timeout it never reached.
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = newTarget(t, c, ns, 2*time.Minute).Deploy(short, release("dep2", prod, svc, "registry.invalid/x@sha256:"+strings.Repeat("8", 64), log))
	if err == nil || strings.Contains(err.Error(), "within 2m0s") || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Fatalf("Deploy with a shorter deadline = %v, want the deadline named\n%s", err, log)
	}
	jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if j.DeletionTimestamp != nil {
			continue
		}
		failed := false
		for _, cond := range j.Status.Conditions {
			failed = failed || cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue
		}
		if !failed {
			t.Errorf("Job %s is left to run: %+v\n%s", j.Name, j.Status, log)
		}
	}
}

// Every service id Liftoff accepts deploys: one starting with a digit
// (a Service's name must start with a letter) and one ending with '-'
// or '_' (a label value must end with a letter or digit).
func TestServiceIDsKubernetesWouldRefuse(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	for i, id := range []string{"1api", "api_", "Edge-"} {
		svc := webService(id)
		svc.MinInstances = 1
		log := &lockedBuffer{}
		if err := tg.Deploy(ctx, release("dep"+strconv.Itoa(i), prod, svc, "registry.invalid/team/x@sha256:"+strings.Repeat("7", 64), log)); err != nil {
			t.Errorf("Deploy %s: %v\n%s", id, err, log)
			continue
		}
		pods, err := tg.Pods(ctx, prod, svc, 0)
		if err != nil || len(pods) != 1 {
			t.Errorf("Pods of %s = %+v, %v; want its one pod", id, pods, err)
		}
	}
	d, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Items) != 3 {
		t.Errorf("%d Deployments, want one per service", len(d.Items))
	}
}

// What a service's config no longer has goes with its next release: the
// Ingress of a domain removed, the Service of a web service that became a
// worker, the Deployment of one that became a scheduler. Another
// service's objects stay.
func TestStaleObjectsArePruned(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	image := "registry.invalid/team/web@sha256:" + strings.Repeat("d", 64)
	deploy := func(id string, svc config.Service, hosts ...string) {
		t.Helper()
		log := &lockedBuffer{}
		rel := release(id, prod, svc, image, log)
		rel.Hosts = hosts
		if err := tg.Deploy(ctx, rel); err != nil {
			t.Fatalf("Deploy %s: %v\n%s", id, err, log)
		}
	}
	check := func(step string, want map[string]bool) {
		t.Helper()
		for kind, w := range want {
			if got := exists(t, ctx, c, ns, kind, "web"); got != w {
				t.Errorf("%s: %s exists = %v, want %v", step, kind, got, w)
			}
		}
	}
	other := webService("api")
	other.MinInstances = 1
	deploy("api1", other, "api.example.com")

	web := webService("web")
	web.MinInstances = 1
	deploy("dep1", web, "app.example.com", "web.production.localhost")
	check("web with a domain", map[string]bool{"Deployment": true, "Service": true, "Ingress": true})
	deploy("dep2", web, "web.production.localhost")
	check("web without its domain", map[string]bool{"Deployment": true, "Service": true, "Ingress": false})
	worker := config.Service{ID: "web", Type: config.TypeWorker, VersionHistoryCount: 5, MinInstances: 1,
		StartCommand: config.Command{Line: "work"}, Target: config.Target{Type: config.TargetKubernetes}}
	deploy("dep3", worker)
	check("a worker", map[string]bool{"Deployment": true, "Service": false, "Ingress": false})
	deploy("dep4", schedulerService("web", map[string]string{"nightly": "0 3 * * *"}))
	check("a scheduler", map[string]bool{"Deployment": false, "Service": false, "Ingress": false})

	for _, kind := range []string{"Deployment", "Service", "Ingress"} {
		if !exists(t, ctx, c, ns, kind, "api") {
			t.Errorf("another service's %s is gone", kind)
		}
	}
}

// exists reports whether the namespace has the object of that kind
// (Deployment, Service or Ingress) and name.
func exists(t *testing.T, ctx context.Context, c *kubetest.Cluster, ns, kind, name string) bool {
	t.Helper()
	var err error
	switch kind {
	case "Deployment":
		_, err = c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	case "Service":
		_, err = c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	case "Ingress":
		_, err = c.Client.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	default:
		t.Fatalf("exists: no kind %q", kind)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// With --kube-ingress-tls and --kube-ingress-annotations, an Ingress
// carries TLS for its hosts (not the Liftoff host's names) in the Secret
// <name>-tls, and the annotations cert-manager needs to issue it.
func TestIngressTLSAndAnnotations(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg, err := kube.New(kube.Config{REST: c.Config, Images: images{}, RolloutTimeout: 2 * time.Minute,
		Defaults:           kube.Settings{Namespace: ns, Registry: "registry.invalid/team"},
		IngressAnnotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"}, IngressTLS: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := webService("web")
	svc.MinInstances = 1
	log := &lockedBuffer{}
	rel := release("dep1", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("b", 64), log)
	rel.Hosts = []string{"app.example.com", "www.example.com", "web.production.localhost"}
	if err := tg.Deploy(ctx, rel); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	ing, err := c.Client.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "web-tls" ||
		!slices.Equal(ing.Spec.TLS[0].Hosts, []string{"app.example.com", "www.example.com"}) {
		t.Errorf("ingress TLS = %+v, want app.example.com and www.example.com in web-tls", ing.Spec.TLS)
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("ingress annotations = %v, want cert-manager's issuer", ing.Annotations)
	}
}
