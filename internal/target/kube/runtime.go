package kube

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/redact"
	"github.com/liftoffhq/liftoff/internal/target"
)

// Pod is one pod of a service instance, as the cluster reports it.
type Pod struct {
	Name  string
	PR    int
	Phase string // Pending, Running, Succeeded, Failed
	Ready bool
	// Restarts counts its container's restarts.
	Restarts int
	// Reason is why it is not running, when the cluster says
	// (CrashLoopBackOff, ImagePullBackOff ...).
	Reason    string
	Node      string
	ReleaseID string
	Created   time.Time
}

// Runs reports whether svc releases to the cluster: its target is
// kubernetes, or it left the choice to the operator and Default is set.
func (t *Target) Runs(svc config.Service) bool {
	return svc.Target.IsKubernetes() || svc.Target.IsDefault() && t.cfg.Default
}

// Pods returns the pods of a service, of every instance of its
// environment (prNumber < 0) or of one, oldest first.
func (t *Target) Pods(ctx context.Context, inst target.Instance, svc config.Service, prNumber int) ([]Pod, error) {
	st := t.Settings(svc)
	cs, err := t.client(st.Context)
	if err != nil {
		return nil, err
	}
	labels := serviceLabels(inst, svc.ID)
	if prNumber < 0 {
		delete(labels, LabelPR)
	} else {
		labels[LabelPR] = strconv.Itoa(prNumber)
	}
	list, err := cs.CoreV1().Pods(st.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selectorOf(labels)})
	if err != nil {
		return nil, fmt.Errorf("list the pods of %s: %w", svc.ID, err)
	}
	out := make([]Pod, 0, len(list.Items))
	for _, p := range list.Items {
		if _, isJob := p.Labels["job-name"]; isJob || p.DeletionTimestamp != nil {
			continue // a deploy command's, a scheduled job's, or going away
		}
		pr, _ := strconv.Atoi(p.Labels[LabelPR])
		pod := Pod{Name: p.Name, PR: pr, Phase: string(p.Status.Phase), Node: p.Spec.NodeName,
			ReleaseID: p.Labels[LabelDeployment], Created: p.CreationTimestamp.Time}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				pod.Ready = c.Status == corev1.ConditionTrue
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			pod.Restarts += int(c.RestartCount)
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				pod.Reason = c.State.Waiting.Reason
			case c.State.Terminated != nil && c.State.Terminated.Reason != "":
				pod.Reason = c.State.Terminated.Reason
			}
		}
		out = append(out, pod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, nil
}

// State sums up the pods of one instance as a service state: running when
// every pod is ready, restarting when one waits to start again, stopped
// when there is none, starting otherwise.
func State(pods []Pod) string {
	if len(pods) == 0 {
		return liftoff.ServiceStopped
	}
	ready := 0
	for _, p := range pods {
		if p.Reason == "CrashLoopBackOff" {
			return liftoff.ServiceRestarting
		}
		if p.Ready {
			ready++
		}
	}
	if ready == len(pods) {
		return liftoff.ServiceRunning
	}
	return liftoff.ServiceStarting
}

// LogLine is one line a pod printed.
type LogLine struct {
	Time time.Time
	Pod  string
	Text string
}

// ReadLog reads what the pods of a service instance print, each line
// with its time and pod, since a time (zero: all the cluster kept). The
// values of the service's secret variables are scrubbed, as in a local
// release's log file. With follow it goes on until ctx ends, and follows
// the pods a later release starts too, as their logs begin.
func (t *Target) ReadLog(ctx context.Context, inst target.Instance, svc config.Service, since time.Time, follow bool, emit func([]LogLine) error) error {
	cs, err := t.client(t.Settings(svc).Context)
	if err != nil {
		return err
	}
	ns := t.Settings(svc).Namespace
	scrub, err := secretScrubber(ctx, cs, ns, inst, svc.ID)
	if err != nil {
		return err
	}
	r := &logReader{cs: cs, ns: ns, since: since, follow: follow, scrub: scrub, emit: emit}
	if follow {
		return r.followPods(ctx, selectorOf(serviceLabels(inst, svc.ID)))
	}
	pods, err := t.Pods(ctx, inst, svc, inst.PRNumber)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		wg.Go(func() { errs[i] = r.stream(ctx, p.Name) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// logReader reads pods' logs for ReadLog.
type logReader struct {
	cs     kubernetes.Interface
	ns     string
	since  time.Time
	follow bool
	scrub  *redact.Scrubber
	mu     sync.Mutex // emit is called by one pod at a time
	emit   func([]LogLine) error
}

// followPods streams the log of every pod the selector selects, those
// there now and those that start later, until ctx ends. A pod whose log
// cannot be read (gone before it began) leaves the others.
func (r *logReader) followPods(ctx context.Context, selector string) (err error) {
	// The caller refusing a line (emit failed) ends it all.
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel(nil) // the streams stop (a watch that failed leaves them following)
		wg.Wait()
		if e := (*emitError)(nil); errors.As(context.Cause(ctx), &e) {
			err = e.err
		}
	}()
	started := map[string]bool{}
	// An informer's list and watch, which takes the watch up again
	// when it closes or expires, as rollout waits do.
	lw := cache.NewFilteredListWatchFromClient(r.cs.CoreV1().RESTClient(), "pods", r.ns, func(o *metav1.ListOptions) {
		o.LabelSelector = selector
	})
	_, werr := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted || started[p.Name] || p.Labels["job-name"] != "" || p.Status.Phase != corev1.PodRunning {
			return false, nil // not one of the service's running servers, or streamed already
		}
		started[p.Name] = true
		wg.Go(func() {
			if err := r.stream(ctx, p.Name); errors.As(err, new(*emitError)) {
				cancel(err)
			}
		})
		return false, nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("watch the pods of %s: %w", selector, werr)
}

// stream reads one pod's log and emits its lines; it returns nil when ctx
// ended.
func (r *logReader) stream(ctx context.Context, pod string) error {
	opts := &corev1.PodLogOptions{Timestamps: true, Follow: r.follow}
	if !r.since.IsZero() {
		opts.SinceTime = &metav1.Time{Time: r.since}
	}
	stream, err := r.cs.CoreV1().Pods(r.ns).GetLogs(pod, opts).Stream(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("logs of pod %s: %w", pod, err)
	}
	defer stream.Close()
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := LogLine{Pod: pod, Text: r.scrub.String(sc.Text())}
		if ts, text, ok := strings.Cut(line.Text, " "); ok {
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				line.Time, line.Text = at, text
			}
		}
		r.mu.Lock()
		err := r.emit([]LogLine{line})
		r.mu.Unlock()
		if err != nil {
			return &emitError{err}
		}
	}
	return nil
}

// emitError is the caller's refusal of a line.
type emitError struct{ err error }

func (e *emitError) Error() string { return e.err.Error() }
func (e *emitError) Unwrap() error { return e.err }

// secretScrubber scrubs the values of the secret variables of every
// environment Secret the service instance has (the serving release's and
// those of older ReplicaSets whose pods may still print).
func secretScrubber(ctx context.Context, cs kubernetes.Interface, ns string, inst target.Instance, serviceID string) (*redact.Scrubber, error) {
	list, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: selectorOf(serviceLabels(inst, serviceID))})
	if err != nil {
		return nil, fmt.Errorf("read the secrets of %s to scrub its logs: %w", serviceID, err)
	}
	var values []string
	for _, s := range list.Items {
		keys := s.Annotations[AnnotationSecretKeys]
		if keys == "" {
			continue
		}
		for k := range strings.SplitSeq(keys, ",") {
			if v, ok := s.Data[k]; ok {
				values = append(values, string(v))
			}
		}
	}
	return redact.New(values...), nil
}
