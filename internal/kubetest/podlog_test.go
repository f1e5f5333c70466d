package kubetest_test

import (
	"bufio"
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liftoffhq/liftoff/internal/kubetest"
)

// A pod's log, through the API server's pods/log (kwok's kubelet server
// behind it), holds what PrintLog printed, with its time; a follower gets
// a line printed after it began.
func TestPodLogs(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, deployment("web", 1, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := kubetest.Until(ctx, c.Client.CoreV1().Pods(ns), func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning
	})
	if err != nil {
		t.Fatalf("wait for the pod to run: %v", err)
	}
	if err := c.PrintLog("first line of "+ns, "second line of "+ns); err != nil {
		t.Fatal(err)
	}
	data, err := c.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Timestamps: true}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("read the pod's log: %v", err)
	}
	var mine []string
	for l := range strings.Lines(string(data)) {
		if strings.HasSuffix(strings.TrimSpace(l), "line of "+ns) {
			mine = append(mine, strings.TrimSpace(l))
		}
	}
	if len(mine) != 2 || !strings.HasSuffix(mine[0], " first line of "+ns) || !strings.HasSuffix(mine[1], " second line of "+ns) ||
		!strings.HasPrefix(mine[0], "20") {
		t.Fatalf("the pod's log has %q of ours, want both lines with their time; all of it:\n%s", mine, data)
	}

	followCtx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := c.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Follow: true}).Stream(followCtx)
	if err != nil {
		t.Fatalf("follow the pod's log: %v", err)
	}
	defer stream.Close()
	sc := bufio.NewScanner(stream)
	// The follower has read what was there once our second line arrives;
	// only then is the next line "after it began".
	for sc.Scan() && sc.Text() != "second line of "+ns {
	}
	if err := c.PrintLog("later line of " + ns); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		if sc.Text() == "later line of "+ns {
			return
		}
	}
	t.Fatalf("the follower ended without the later line: %v", sc.Err())
}
