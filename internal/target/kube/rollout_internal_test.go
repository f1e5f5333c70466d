package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The first state a rollout's watch sees may come from the API server's
// watch cache, from before the apply: the previous release, completely
// rolled out. That is no rollout of the applied generation.
func TestRolledOutWaitsForTheAppliedGeneration(t *testing.T) {
	t.Parallel()
	replicas := int32(2)
	done := appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	stale := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: &replicas}, Status: done}
	if ok, err := rolledOut(stale, 4); ok || err != nil {
		t.Errorf("rolledOut(the previous generation, complete) = %v, %v; want a wait for generation 4", ok, err)
	}
	applied := stale.DeepCopy()
	applied.Generation = 4
	if ok, _ := rolledOut(applied, 4); ok {
		t.Error("rolledOut before the controller observed the applied generation")
	}
	applied.Status.ObservedGeneration = 4
	if ok, err := rolledOut(applied, 4); !ok || err != nil {
		t.Errorf("rolledOut(generation 4 observed and available) = %v, %v", ok, err)
	}
	// A later apply (someone else's) is waited for as well.
	applied.Generation = 5
	if ok, _ := rolledOut(applied, 4); ok {
		t.Error("rolledOut before the controller observed the latest generation")
	}
}

// A CronJob's name has at most 52 characters (its Jobs add 11), and two
// jobs whose names only differ past the cut still get CronJobs of their
// own.
func TestCronJobNameCutsWithAHash(t *testing.T) {
	t.Parallel()
	object := strings.Repeat("s", 40)
	a, b := cronJobName(object, "report-of-the-north"), cronJobName(object, "report-of-the-south")
	if a == b {
		t.Errorf("two jobs share CronJob %s", a)
	}
	for _, name := range []string{a, b, cronJobName(strings.Repeat("s", 49), "ab"), cronJobName(strings.Repeat("s", 49), "ac")} {
		if len(name) > 52 || len(validation.IsDNS1123Subdomain(name)) > 0 {
			t.Errorf("CronJob name %q (%d characters) is not one", name, len(name))
		}
	}
	if cronJobName(strings.Repeat("s", 49), "ab") == cronJobName(strings.Repeat("s", 49), "ac") {
		t.Error("two jobs of a 52-character name share a CronJob")
	}
	if got := cronJobName("cron", "by_hand"); got != "cron-by-hand" {
		t.Errorf("cronJobName(cron, by_hand) = %q", got)
	}
}
