package kube

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	batchac "k8s.io/client-go/applyconfigurations/batch/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// errProgressDeadline is a rollout the Deployment controller gave up on.
var errProgressDeadline = errors.New("the rollout made no progress before its deadline")

// waitRollout waits until every replica of the Deployment runs the pod
// template of generation (the one the release applied) or a later one and
// is available, and the old ones are gone, within the rollout timeout.
func (r *release) waitRollout(ctx context.Context, generation int64) error {
	ctx, cancel := context.WithTimeout(ctx, r.t.cfg.RolloutTimeout)
	defer cancel()
	lw := cache.NewFilteredListWatchFromClient(r.cs.AppsV1().RESTClient(), "deployments", r.ns, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", r.name).String()
	})
	var last *appsv1.Deployment
	_, err := watchtools.UntilWithSync(ctx, lw, &appsv1.Deployment{}, nil, func(ev watch.Event) (bool, error) {
		d, ok := ev.Object.(*appsv1.Deployment)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("the rollout of Deployment %s/%s ended: it was deleted", r.ns, r.name)
		}
		last = d
		return rolledOut(d, generation)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errProgressDeadline):
		return fmt.Errorf("the rollout of Deployment %s/%s failed: %w (%s)", r.ns, r.name, err, progress(last))
	case ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded:
		return fmt.Errorf("the rollout of Deployment %s/%s did not end within %s (%s)", r.ns, r.name, r.t.cfg.RolloutTimeout, progress(last))
	}
	return fmt.Errorf("wait for Deployment %s/%s: %w", r.ns, r.name, err)
}

// rolledOut reports whether d's rollout of generation is complete, or
// failed. The first state a watch gets may be the API server's cached one
// from before the apply (its list reads the watch cache): a complete
// rollout of an older generation is no answer.
func rolledOut(d *appsv1.Deployment, generation int64) (bool, error) {
	if d.Generation < generation || d.Generation > d.Status.ObservedGeneration {
		return false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, errProgressDeadline
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want, nil
}

// progress says how far a rollout got.
func progress(d *appsv1.Deployment) string {
	if d == nil {
		return "no status yet"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return fmt.Sprintf("%d of %d replicas updated, %d available, %d in all", d.Status.UpdatedReplicas, want,
		d.Status.AvailableReplicas, d.Status.Replicas)
}

// jobDeadlineSlack is how much longer than the release waits a Job may
// run before the cluster stops it: the release gives up first, and can
// still say where the Job's pod got to; the Job's own deadline only
// stops it when Liftoff could not (it stopped meanwhile).
const jobDeadlineSlack = 30

// runJob runs a command of the service in a Job of the release's image
// and waits for it to succeed, within the rollout timeout. A Job the wait
// gives up on (the timeout, the deployment cancelled) is deleted with its
// pod: it does not go on running.
func (r *release) runJob(ctx context.Context, what, image, secret string, c config.Command) error {
	name := jobName(r.name, what, r.rel.ID)
	r.printf("Running %s in Job %s/%s: %s", what, r.ns, name, c.String())
	ctr := r.container(image, secret).WithCommand(c.Argv("/bin/sh")...)
	ctr.ReadinessProbe, ctr.LivenessProbe = nil, nil
	job := batchac.Job(name, r.ns).WithLabels(r.labels()).
		WithSpec(batchac.JobSpec().WithBackoffLimit(0).WithTTLSecondsAfterFinished(3600).
			WithActiveDeadlineSeconds(int64(r.t.cfg.RolloutTimeout.Seconds()) + jobDeadlineSlack).
			WithTemplate(coreac.PodTemplateSpec().WithLabels(r.podLabels(what)).
				WithSpec(coreac.PodSpec().WithRestartPolicy(corev1.RestartPolicyNever).WithContainers(ctr))))
	if _, err := r.cs.BatchV1().Jobs(r.ns).Apply(ctx, job, apply); err != nil {
		return fmt.Errorf("apply Job %s/%s: %w", r.ns, name, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.t.cfg.RolloutTimeout)
	defer cancel()
	lw := cache.NewFilteredListWatchFromClient(r.cs.BatchV1().RESTClient(), "jobs", r.ns, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	})
	_, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, nil, func(ev watch.Event) (bool, error) {
		j, ok := ev.Object.(*batchv1.Job)
		if !ok {
			return false, nil
		}
		for _, cond := range j.Status.Conditions {
			switch {
			case cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue:
				return true, nil
			case cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue:
				return false, fmt.Errorf("the pod of Job %s/%s failed: %s", r.ns, name, cond.Message)
			}
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer stop()
		where := r.jobPodState(stopCtx, name)
		background := metav1.DeletePropagationBackground
		if derr := r.cs.BatchV1().Jobs(r.ns).Delete(stopCtx, name,
			metav1.DeleteOptions{PropagationPolicy: &background}); derr != nil && !apierrors.IsNotFound(derr) {
			r.printf("Could not stop Job %s/%s: %v", r.ns, name, derr)
		}
		if parent.Err() == nil {
			return fmt.Errorf("the pod of Job %s/%s did not finish within %s (%s): the Job is deleted", r.ns, name, r.t.cfg.RolloutTimeout, where)
		}
		return fmt.Errorf("the Job %s/%s is deleted (%s): %w", r.ns, name, where, context.Cause(parent))
	}
	return err
}

// jobPodState says where the pod of a Job that did not finish got to: its
// phase and why it is not running, as the scheduler or the kubelet says
// (no node fits, the image cannot be pulled ...).
func (r *release) jobPodState(ctx context.Context, job string) string {
	pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	switch {
	case err != nil:
		return "its pod could not be read: " + err.Error()
	case len(pods.Items) == 0:
		// The Job controller says why in a warning on the Job (a quota,
		// an admission webhook ...).
		events, err := r.cs.CoreV1().Events(r.ns).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
			"involvedObject.kind": "Job", "involvedObject.name": job, "type": corev1.EventTypeWarning}.String()})
		if err != nil || len(events.Items) == 0 {
			return "no pod was created"
		}
		return "no pod was created: " + events.Items[len(events.Items)-1].Message
	}
	p := pods.Items[len(pods.Items)-1]
	state := "pod " + p.Name + " " + string(p.Status.Phase)
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Waiting != nil && c.State.Waiting.Reason != "" {
			return state + ": " + c.State.Waiting.Reason + " " + c.State.Waiting.Message
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			return state + ": " + c.Message
		}
	}
	return state
}

// jobName names a release's Job: the object's name, what it runs and the
// end of the release's id, at most 63 characters.
func jobName(object, what, releaseID string) string {
	id := strings.ToLower(releaseID)
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	suffix := "-" + what + "-" + id
	return strings.TrimRight(object[:min(len(object), 63-len(suffix))], "-") + suffix
}

// applyCronJobs applies a scheduler's jobs as CronJobs; a manual job is a
// suspended one. A CronJob of a job's name that is not the service's
// stops the release before any is applied.
func (r *release) applyCronJobs(ctx context.Context, image, secret string) error {
	svc := r.rel.Service
	for _, id := range svc.JobIDs() {
		name := cronJobName(r.name, id)
		cj, err := r.cs.BatchV1().CronJobs(r.ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("read CronJob %s/%s: %w", r.ns, name, err)
		case !ownedBy(cj.Labels, r.owner):
			return notOurs("CronJob", r.ns, name, cj.Labels)
		}
	}
	for _, id := range svc.JobIDs() {
		j := svc.Jobs[id]
		schedule, suspend, err := CronSchedule(j.Schedule)
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		ctr := r.container(image, secret)
		if !j.StartCommand.IsBlank() {
			ctr.WithCommand(j.StartCommand.Argv("/bin/sh")...)
		}
		name := cronJobName(r.name, id)
		spec := batchac.CronJobSpec().WithSchedule(schedule).WithSuspend(suspend).
			WithConcurrencyPolicy("Forbid").
			WithJobTemplate(batchac.JobTemplateSpec().WithLabels(r.labels()).WithSpec(batchac.JobSpec().
				WithBackoffLimit(0).WithActiveDeadlineSeconds(int64(j.TimeoutDuration().Seconds())).
				WithTemplate(coreac.PodTemplateSpec().WithLabels(r.podLabels("job")).
					WithSpec(coreac.PodSpec().WithRestartPolicy(corev1.RestartPolicyNever).WithContainers(ctr)))))
		if j.Timezone != "" {
			spec.WithTimeZone(j.Timezone)
		}
		r.printf("Applying CronJob %s/%s (%s)", r.ns, name, j.Schedule)
		if _, err := r.cs.BatchV1().CronJobs(r.ns).Apply(ctx, batchac.CronJob(name, r.ns).WithLabels(r.labels()).WithSpec(spec), apply); err != nil {
			return fmt.Errorf("apply CronJob %s/%s: %w", r.ns, name, err)
		}
	}
	return nil
}

// pruneCronJobs deletes the service's CronJobs of jobs it no longer has
// (all of them when it is no scheduler any more), with their Jobs.
func (r *release) pruneCronJobs(ctx context.Context) error {
	keep := map[string]bool{}
	if r.rel.Service.Type == config.TypeScheduler {
		for _, id := range r.rel.Service.JobIDs() {
			keep[cronJobName(r.name, id)] = true
		}
	}
	l, err := r.cs.BatchV1().CronJobs(r.ns).List(ctx, metav1.ListOptions{LabelSelector: selectorOf(r.owner)})
	if err != nil {
		return fmt.Errorf("list the CronJobs of %s: %w", r.rel.Service.ID, err)
	}
	background := metav1.DeletePropagationBackground
	for _, cj := range l.Items {
		if keep[cj.Name] || cj.DeletionTimestamp != nil {
			continue
		}
		r.printf("Deleting CronJob %s/%s: its job is no longer in the service's config", r.ns, cj.Name)
		err := r.cs.BatchV1().CronJobs(r.ns).Delete(ctx, cj.Name, metav1.DeleteOptions{PropagationPolicy: &background})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete CronJob %s/%s: %w", r.ns, cj.Name, err)
		}
	}
	return nil
}

// CronJob names the CronJob of job jobID of scheduler svc, in the
// instance of PR prNumber (0 outside previews).
func (t *Target) CronJob(svc config.Service, prNumber int, jobID string) (namespace, name string) {
	return t.Settings(svc).Namespace, cronJobName(ObjectName(target.Instance{PRNumber: prNumber}, svc.ID), jobID)
}

// cronJobName names a job's CronJob. The Jobs it makes add 11 characters
// to it, so it has at most 52: a longer one is cut, and ends with a hash
// of the whole.
func cronJobName(object, jobID string) string {
	return dnsName(object+"-"+strings.ToLower(strings.ReplaceAll(jobID, "_", "-")), 52)
}

// descriptors are the schedules of one word both Liftoff and CronJobs
// read.
var descriptors = map[string]bool{"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true}

var (
	rateSchedule = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	fiveFields   = regexp.MustCompile(`^\S+ \S+ \S+ \S+ \S+$`)
)

// CronSchedule is a job's schedule as a CronJob's: five cron fields as
// they are, a rate that divides its unit as the equivalent fields, and
// "manual" as a suspended CronJob. The others cannot be told to
// Kubernetes exactly, and are refused. A descriptor (@daily) is one too.
func CronSchedule(s string) (schedule string, suspend bool, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "manual":
		return "0 0 1 1 *", true, nil
	case descriptors[s]:
		return s, false, nil
	case fiveFields.MatchString(s):
		return s, false, nil
	}
	if m := rateSchedule.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch unit := strings.TrimSuffix(m[2], "s"); {
		case n == 0:
		case unit == "minute" && 60%n == 0:
			return fmt.Sprintf("*/%d * * * *", n), false, nil
		case unit == "hour" && 24%n == 0:
			return fmt.Sprintf("0 */%d * * *", n), false, nil
		case unit == "day" && n == 1:
			return "0 0 * * *", false, nil
		}
	}
	return "", false, fmt.Errorf("schedule %q cannot run as a Kubernetes CronJob: write it as five cron fields (\"*/15 * * * *\")", s)
}

// StopInstance deletes every object of the instance, in every namespace
// of every cluster Liftoff deployed to since it started, found by its
// labels; objects of other instances and objects Liftoff does not manage
// are left alone.
func (t *Target) StopInstance(ctx context.Context, inst target.Instance) error {
	if _, err := t.client(t.cfg.Defaults.Context); err != nil {
		return err
	}
	t.mu.Lock()
	clients := make([]kubernetes.Interface, 0, len(t.clients))
	for _, c := range t.clients {
		clients = append(clients, c)
	}
	t.mu.Unlock()
	sel := metav1.ListOptions{LabelSelector: selectorOf(instanceLabels(inst))}
	var errs []error
	for _, cs := range clients {
		errs = append(errs, deleteAll(ctx, cs, sel))
	}
	return errors.Join(errs...)
}

// deleteAll deletes the objects sel finds in every namespace, the pods
// of the Deployments and Jobs with them.
func deleteAll(ctx context.Context, cs kubernetes.Interface, sel metav1.ListOptions) error {
	background := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &background}
	var errs []error
	keep := func(err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if l, err := cs.NetworkingV1().Ingresses("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.NetworkingV1().Ingresses(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if l, err := cs.CoreV1().Services("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.CoreV1().Services(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if l, err := cs.AppsV1().Deployments("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.AppsV1().Deployments(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if l, err := cs.BatchV1().CronJobs("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.BatchV1().CronJobs(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if l, err := cs.BatchV1().Jobs("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.BatchV1().Jobs(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if l, err := cs.CoreV1().Secrets("").List(ctx, sel); err != nil {
		keep(err)
	} else {
		for _, o := range l.Items {
			keep(cs.CoreV1().Secrets(o.Namespace).Delete(ctx, o.Name, del))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("delete the instance's objects: %w", errors.Join(errs...))
	}
	return nil
}
