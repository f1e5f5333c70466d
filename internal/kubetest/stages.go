package kubetest

import (
	"strconv"
	"strings"
)

// The markers that make kwok's pods misbehave, as a test asks.
const (
	// NeverReadyLabel on a pod (value "true", in a Deployment's pod
	// template) keeps it Running with Ready=false forever, as a container
	// whose readiness probe never passes.
	NeverReadyLabel = "kubetest.liftoff.invalid/never-ready"
	// NeverReadyPath as a container's HTTP readiness probe path does the
	// same, for code that sets probes but not labels (a service's
	// healthCheckPath).
	NeverReadyPath = "/kubetest/never-ready"
	// FailLabel on a Job's pod (value "true") makes it end Failed, exit
	// code 1, where other Job pods end Succeeded.
	FailLabel = "kubetest.liftoff.invalid/fail"
)

// kwokStages is kwok's configuration: how pods on its fake nodes move
// through their lives. Given any pod stage, kwok uses only those given, so
// these replace its default pod stages (every pod Running and Ready at
// once, Job pods Succeeded, deleted pods gone) with the same plus the
// markers above. Nodes keep kwok's default stages (Ready at once, with
// heartbeats and a lease).
func kwokStages() string {
	notMarked := `
    - key: '.metadata.labels["` + NeverReadyLabel + `"]'
      operator: NotIn
      values: ['true']
    - key: '.spec.containers.[].readinessProbe.httpGet.path'
      operator: NotIn
      values: ['` + NeverReadyPath + `']`
	stages := []string{
		runningStage("pod-ready", notMarked, true),
		runningStage("pod-never-ready-label", `
    - key: '.metadata.labels["`+NeverReadyLabel+`"]'
      operator: In
      values: ['true']`, false),
		runningStage("pod-never-ready-probe", `
    - key: '.spec.containers.[].readinessProbe.httpGet.path'
      operator: In
      values: ['`+NeverReadyPath+`']`, false),
		jobEndStage("pod-job-succeeded", "NotIn", "Succeeded", 0),
		jobEndStage("pod-job-failed", "In", "Failed", 1),
		podDeleteStage,
	}
	return strings.Join(stages, "---\n")
}

// runningStage takes a pod that kwok has not started yet (no pod IP) and
// matching the extra selector expressions to Running, its containers ready
// or not.
func runningStage(name, selector string, ready bool) string {
	status := "False"
	if ready {
		status = "True"
	}
	return strings.NewReplacer(
		"NAME", name,
		"SELECTOR", selector,
		"READY_STATUS", status,
		"READY_BOOL", strings.ToLower(status),
	).Replace(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: NAME
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.podIP'
      operator: DoesNotExist` + "SELECTOR" + `
  # The next stage (a Job's pod ending) is matched on the pod as patched,
  # not when kwok's watch brings it back.
  immediateNextStage: true
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      conditions:
      - type: Initialized
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: ContainersReady
        status: "READY_STATUS"
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: "READY_STATUS"
        lastTransitionTime: {{ $now | Quote }}
      {{ range .spec.readinessGates }}
      - type: {{ .conditionType | Quote }}
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: READY_BOOL
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            reason: Completed
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
`)
}

// jobEndStage ends a running pod of a Job: with FailLabel (op In) or
// without it (op NotIn).
func jobEndStage(name, op, phase string, exitCode int) string {
	reason := "Completed"
	if exitCode != 0 {
		reason = "Error"
	}
	return strings.NewReplacer(
		"NAME", name,
		"OP", op,
		"PHASE", phase,
		"EXIT_CODE", strconv.Itoa(exitCode),
		"REASON", reason,
	).Replace(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: NAME
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: In
      values: ['Job']
    - key: '.metadata.labels["` + FailLabel + `"]'
      operator: OP
      values: ['true']
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: PHASE
      conditions:
      - type: ContainersReady
        status: "False"
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: "False"
        lastTransitionTime: {{ $now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          terminated:
            exitCode: EXIT_CODE
            reason: REASON
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
`)
}

// podDeleteStage lets a deleted pod go, as a kubelet does once its
// containers have stopped.
const podDeleteStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: Exists
  next:
    finalizers:
      empty: true
    delete: true
`

// clusterLogs is kwok's configuration of pod logs: every container of
// every pod prints what the file at path holds (CRI's log format), and a
// follower gets what is appended. One file for the whole cluster: tests
// tell their lines apart by what they print.
func clusterLogs(path string) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: every-pod
spec:
  logs:
  - logsFile: '` + path + `'
    follow: true
`
}
