package kube

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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
// with its time and pod, since a time (zero: all the cluster kept); with
// follow it goes on until ctx ends. The values of the service's secret
// variables are scrubbed, as in a local release's log file.
func (t *Target) ReadLog(ctx context.Context, inst target.Instance, svc config.Service, since time.Time, follow bool, emit func([]LogLine) error) error {
	pods, err := t.Pods(ctx, inst, svc, inst.PRNumber)
	if err != nil {
		return err
	}
	cs, err := t.client(t.Settings(svc).Context)
	if err != nil {
		return err
	}
	ns := t.Settings(svc).Namespace
	scrub, err := secretScrubber(ctx, cs, ns, inst, svc.ID)
	if err != nil {
		return err
	}
	var mu sync.Mutex // emit is called by one pod at a time
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		opts := &corev1.PodLogOptions{Timestamps: true, Follow: follow}
		if !since.IsZero() {
			opts.SinceTime = &metav1.Time{Time: since}
		}
		wg.Go(func() {
			stream, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, opts).Stream(ctx)
			if err != nil {
				errs[i] = fmt.Errorf("logs of pod %s: %w", p.Name, err)
				return
			}
			defer stream.Close()
			sc := bufio.NewScanner(stream)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := LogLine{Pod: p.Name, Text: scrub.String(sc.Text())}
				if ts, text, ok := strings.Cut(line.Text, " "); ok {
					if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
						line.Time, line.Text = at, text
					}
				}
				mu.Lock()
				err := emit([]LogLine{line})
				mu.Unlock()
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

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
