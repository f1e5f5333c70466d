package kube_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/internal/target/kube"
)

// The log of a service on the cluster is its pods' logs, each line with
// its pod and time, scrubbed of the service's secret values; followed, a
// line printed after the read began arrives, until the caller stops.
func TestReadLog(t *testing.T) {
	t.Parallel()
	c := cluster.Get(t)
	ns := c.Namespace(t)
	ctx := timeout(t)
	tg := newTarget(t, c, ns, 2*time.Minute)
	svc := webService("web")
	svc.MinInstances = 1
	log := &lockedBuffer{}
	if err := tg.Deploy(ctx, release("dep1", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("1", 64), log)); err != nil {
		t.Fatalf("Deploy: %v\n%s", err, log)
	}
	pods, err := tg.Pods(ctx, prod, svc, 0)
	if err != nil || len(pods) != 1 {
		t.Fatalf("Pods = %v, %v; want the one pod", pods, err)
	}
	// release() gives the service the secret variable API_TOKEN=s3cret.
	if err := c.PrintLog("hello from "+ns, "calling with s3cret in "+ns); err != nil {
		t.Fatal(err)
	}
	var got []kube.LogLine
	if err := tg.ReadLog(ctx, prod, svc, time.Time{}, false, func(lines []kube.LogLine) error {
		for _, l := range lines {
			if strings.HasSuffix(l.Text, ns) {
				got = append(got, l)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("ReadLog: %v", err)
	}
	if len(got) != 2 || got[0].Text != "hello from "+ns || got[0].Pod != pods[0].Name || got[0].Time.IsZero() {
		t.Fatalf("ReadLog gave %+v of ours, want both lines of pod %s with their time", got, pods[0].Name)
	}
	if strings.Contains(got[1].Text, "s3cret") || !strings.Contains(got[1].Text, "calling with ") {
		t.Errorf("line %q: want the secret's value scrubbed", got[1].Text)
	}

	follow, stop := context.WithCancel(ctx)
	defer stop()
	arrived := make(chan kube.LogLine, 64)
	done := make(chan error, 1)
	go func() {
		done <- tg.ReadLog(follow, prod, svc, time.Time{}, true, func(lines []kube.LogLine) error {
			for _, l := range lines {
				if strings.HasSuffix(l.Text, ns) {
					arrived <- l
				}
			}
			return nil
		})
	}()
	// waitFor waits for the line from a pod other than notFrom's.
	waitFor := func(text, notFrom string) kube.LogLine {
		t.Helper()
		for {
			select {
			case l := <-arrived:
				if l.Text == text && l.Pod != notFrom {
					return l
				}
			case err := <-done:
				t.Fatalf("ReadLog ended while following, before %q: %v", text, err)
			case <-ctx.Done():
				t.Fatalf("%q never arrived", text)
			}
		}
	}
	// What was there comes first; then a line printed now.
	waitFor("hello from "+ns, "")
	if err := c.PrintLog("later in " + ns); err != nil {
		t.Fatal(err)
	}
	waitFor("later in "+ns, "")

	// A release replaces the pod: the follower follows the new one.
	if err := tg.Deploy(ctx, release("dep2", prod, svc, "registry.invalid/team/web@sha256:"+strings.Repeat("2", 64), log)); err != nil {
		t.Fatalf("Deploy dep2: %v\n%s", err, log)
	}
	if err := c.PrintLog("after the rollout in " + ns); err != nil {
		t.Fatal(err)
	}
	if l := waitFor("after the rollout in "+ns, pods[0].Name); l.Pod == "" {
		t.Errorf("line %+v has no pod", l)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("ReadLog after the caller stopped = %v, want nil", err)
	}

	// A caller that refuses a line ends the follow with its error.
	refused := errors.New("the client went away")
	err = tg.ReadLog(ctx, prod, svc, time.Time{}, true, func([]kube.LogLine) error { return refused })
	if !errors.Is(err, refused) {
		t.Errorf("ReadLog with a refusing caller = %v, want its error", err)
	}
}
