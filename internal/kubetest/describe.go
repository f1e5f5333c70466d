package kubetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Describe says what a failed test needs to know of the cluster and of
// one namespace, as `kubectl describe` would: each node's readiness,
// taints and lease (a node whose kwok missed its heartbeats gets taints
// that keep new pods Pending), then the namespace's pods with their
// conditions and containers, its Jobs, and its latest events. What it
// cannot read it says, and goes on.
func (c *Cluster) Describe(ctx context.Context, ns string) string {
	var b strings.Builder
	now := time.Now()
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "nodes: %v\n", err)
	} else {
		for _, n := range nodes.Items {
			fmt.Fprintf(&b, "node %s:", n.Name)
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady {
					fmt.Fprintf(&b, " Ready=%s (%s, heartbeat %s ago)", cond.Status, cond.Reason, age(now, cond.LastHeartbeatTime))
				}
			}
			for _, taint := range n.Spec.Taints {
				fmt.Fprintf(&b, " taint %s:%s", taint.Key, taint.Effect)
			}
			if l, err := c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, n.Name, metav1.GetOptions{}); err != nil {
				fmt.Fprintf(&b, " lease: %v", err)
			} else if l.Spec.RenewTime != nil {
				fmt.Fprintf(&b, " lease renewed %s ago", now.Sub(l.Spec.RenewTime.Time).Round(time.Second))
			}
			b.WriteString("\n")
		}
	}
	if ns == "" {
		return b.String()
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "pods of %s: %v\n", ns, err)
	} else {
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "pod %s/%s: %s on %q, created %s ago", ns, p.Name, p.Status.Phase, p.Spec.NodeName, age(now, p.CreationTimestamp))
			if p.DeletionTimestamp != nil {
				b.WriteString(", deleting")
			}
			for _, cond := range p.Status.Conditions {
				fmt.Fprintf(&b, "; %s=%s", cond.Type, cond.Status)
				if cond.Message != "" {
					fmt.Fprintf(&b, " (%s: %s)", cond.Reason, cond.Message)
				}
			}
			b.WriteString("\n")
		}
	}
	jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "jobs of %s: %v\n", ns, err)
	} else {
		for _, j := range jobs.Items {
			fmt.Fprintf(&b, "job %s/%s: active %d, succeeded %d, failed %d, created %s ago", ns, j.Name,
				j.Status.Active, j.Status.Succeeded, j.Status.Failed, age(now, j.CreationTimestamp))
			for _, cond := range j.Status.Conditions {
				fmt.Fprintf(&b, "; %s=%s %s", cond.Type, cond.Status, cond.Message)
			}
			b.WriteString("\n")
		}
	}
	events, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "events of %s: %v\n", ns, err)
		return b.String()
	}
	slices.SortStableFunc(events.Items, func(a, b corev1.Event) int {
		return eventTime(a).Compare(eventTime(b))
	})
	for _, e := range events.Items[max(0, len(events.Items)-40):] {
		fmt.Fprintf(&b, "event %s ago: %s %s/%s %s: %s\n", now.Sub(eventTime(e)).Round(time.Second), e.Type,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
	return b.String()
}

func age(now time.Time, t metav1.Time) time.Duration {
	return now.Sub(t.Time).Round(time.Second)
}

// eventTime is when an event last happened: events recorded through the
// events.k8s.io API have only an EventTime.
func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	return e.EventTime.Time
}
