package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"
	netac "k8s.io/client-go/applyconfigurations/networking/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/steps"
	"github.com/liftoffhq/liftoff/internal/target"
)

// release is one Deploy's work.
type release struct {
	t     *Target
	rel   target.Release
	cs    kubernetes.Interface
	st    Settings
	ns    string
	name  string
	owner map[string]string // the service's labels: what its objects carry
	log   io.Writer
}

func (r *release) printf(format string, args ...any) {
	fmt.Fprintf(r.log, "==> "+format+"\n", args...)
}

// labels are the labels of the release's objects.
func (r *release) labels() map[string]string {
	l := maps.Clone(r.owner)
	l[LabelDeployment] = r.rel.ID
	return l
}

// podLabels are the labels of the release's pods of a component
// (ComponentServer, or what a Job runs).
func (r *release) podLabels(component string) map[string]string {
	l := r.labels()
	l[LabelComponent] = component
	return l
}

// serverSelector selects the pods the Service sends traffic to: the
// Deployment's, not those of the service's Jobs, which run its image (and
// its port) without a probe.
func (r *release) serverSelector() map[string]string {
	l := maps.Clone(r.owner)
	l[LabelComponent] = ComponentServer
	return l
}

// apply is the options of every apply: Liftoff's field manager, taking
// over fields another manager set on objects that are Liftoff's.
var apply = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// Deploy makes rel the serving release of its service: it publishes the
// image, applies the service's objects and waits for the rollout. A
// rollout that fails is rolled back: the previous ReplicaSet keeps
// serving.
func (t *Target) Deploy(ctx context.Context, rel target.Release) error {
	st := t.Settings(rel.Service)
	if st.Namespace == "" {
		return errors.New(`no Kubernetes namespace: set "namespace" in the service's (or its environment's) target, or start Liftoff with --kube-namespace`)
	}
	cs, err := t.client(st.Context)
	if err != nil {
		return err
	}
	r := &release{t: t, rel: rel, cs: cs, st: st, ns: st.Namespace, name: ObjectName(rel.Instance, rel.Service.ID),
		owner: serviceLabels(rel.Instance, rel.Service.ID), log: logOf(rel)}
	return r.deploy(ctx)
}

func (r *release) deploy(ctx context.Context) error {
	if err := r.ensureNamespace(ctx); err != nil {
		return err
	}
	prev, err := r.previous(ctx)
	if err != nil {
		return err
	}
	image := r.rel.Image
	if image == "" {
		return errors.New("the release has no published image (Publish makes it)")
	}
	secret, err := r.applySecret(ctx)
	if err != nil {
		return err
	}
	svc := r.rel.Service
	if !svc.PreDeployCommand.IsBlank() {
		if err := r.runJob(ctx, "predeploy", image, secret, svc.PreDeployCommand); err != nil {
			return fmt.Errorf("preDeployCommand: %w", err)
		}
	}
	if svc.Type == config.TypeScheduler {
		if err := r.applyCronJobs(ctx, image, secret); err != nil {
			return err
		}
		if err := r.pruneCronJobs(ctx); err != nil {
			return err
		}
		if err := r.pruneStale(ctx, kept{}); err != nil { // of a web service or worker it was
			return err
		}
		r.pruneSecrets(ctx, secret)
		return r.postDeploy(ctx, image, secret)
	}
	if r.port() > 0 {
		if err := r.applyService(ctx); err != nil {
			return err
		}
	}
	r.printf("Applying Deployment %s/%s (%d replicas)", r.ns, r.name, r.replicas())
	applied, err := r.cs.AppsV1().Deployments(r.ns).Apply(ctx, r.deployment(image, secret), apply)
	if err != nil {
		return fmt.Errorf("apply Deployment %s/%s: %w", r.ns, r.name, err)
	}
	if err := r.waitRollout(ctx, applied.Generation); err != nil {
		r.rollback(ctx, prev)
		return err
	}
	r.printf("Rolled out: %d of %d replicas available", r.replicas(), r.replicas())
	keep := kept{deployment: true, service: r.port() > 0}
	if len(r.rel.Hosts) > 0 && svc.ServesDomain() {
		if keep.ingress, err = r.applyIngress(ctx); err != nil {
			return err
		}
	}
	if err := r.pruneCronJobs(ctx); err != nil { // of a scheduler it was
		return err
	}
	if err := r.pruneStale(ctx, keep); err != nil {
		return err
	}
	r.pruneSecrets(ctx, secret)
	return r.postDeploy(ctx, image, secret)
}

// postDeploy runs postDeployCommand in a Job of the release's image.
func (r *release) postDeploy(ctx context.Context, image, secret string) error {
	if c := r.rel.Service.PostDeployCommand; !c.IsBlank() {
		if err := r.runJob(ctx, "postdeploy", image, secret, c); err != nil {
			return fmt.Errorf("postDeployCommand: %w", err)
		}
	}
	return nil
}

// Publish pushes the image of rel to the registry of its service and
// returns the reference the cluster pulls.
func (t *Target) Publish(ctx context.Context, rel target.Release) (string, error) {
	st := t.Settings(rel.Service)
	if st.Registry == "" {
		return "", errors.New(`no registry for the images: set "registry" in the service's (or its environment's) target, or start Liftoff with --kube-registry`)
	}
	fmt.Fprintf(logOf(rel), "==> Publishing the image of %s to %s\n", rel.Service.ID, st.Registry)
	ref, err := t.cfg.Images.Publish(ctx, rel, st.Registry)
	if err != nil {
		return "", fmt.Errorf("publish the image: %w", err)
	}
	fmt.Fprintf(logOf(rel), "==> Published %s\n", ref)
	return ref, nil
}

// logOf is where a release's progress goes.
func logOf(rel target.Release) io.Writer {
	if rel.Log == nil {
		return io.Discard
	}
	return rel.Log
}

// InternalAddress is where the other services of inst reach svc: its
// Service's cluster name, at port 80.
func (t *Target) InternalAddress(_ context.Context, inst target.Instance, svc config.Service) (target.Endpoint, error) {
	host := ObjectName(inst, svc.ID) + "." + t.Settings(svc).Namespace + ".svc.cluster.local"
	return target.Endpoint{Port: 80, Host: host, ContainerHost: host}, nil
}

// ensureNamespace makes the namespace when it is missing.
func (r *release) ensureNamespace(ctx context.Context) error {
	_, err := r.cs.CoreV1().Namespaces().Get(ctx, r.ns, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("namespace %s: %w", r.ns, err)
	}
	r.printf("Creating namespace %s", r.ns)
	ns := coreac.Namespace(r.ns).WithLabels(map[string]string{LabelManagedBy: managedBy})
	if _, err := r.cs.CoreV1().Namespaces().Apply(ctx, ns, apply); err != nil {
		return fmt.Errorf("create namespace %s: %w", r.ns, err)
	}
	return nil
}

// previous returns what Liftoff applied to the service's Deployment
// before, nil when there is none; an object of the name that is not the
// service's is an error.
func (r *release) previous(ctx context.Context) (*appsac.DeploymentApplyConfiguration, error) {
	cur, err := r.cs.AppsV1().Deployments(r.ns).Get(ctx, r.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, r.checkFree(ctx)
	case err != nil:
		return nil, fmt.Errorf("read Deployment %s/%s: %w", r.ns, r.name, err)
	case !ownedBy(cur.Labels, r.owner):
		return nil, notOurs("Deployment", r.ns, r.name, cur.Labels)
	}
	if err := r.checkFree(ctx); err != nil {
		return nil, err
	}
	prev, err := appsac.ExtractDeployment(cur, FieldManager)
	if err != nil {
		return nil, fmt.Errorf("read what Liftoff applied to Deployment %s/%s: %w", r.ns, r.name, err)
	}
	return prev, nil
}

// checkFree refuses a Service or an Ingress of the release's name that is
// not the service's.
func (r *release) checkFree(ctx context.Context) error {
	if s, err := r.cs.CoreV1().Services(r.ns).Get(ctx, r.name, metav1.GetOptions{}); err == nil && !ownedBy(s.Labels, r.owner) {
		return notOurs("Service", r.ns, r.name, s.Labels)
	}
	if i, err := r.cs.NetworkingV1().Ingresses(r.ns).Get(ctx, r.name, metav1.GetOptions{}); err == nil && !ownedBy(i.Labels, r.owner) {
		return notOurs("Ingress", r.ns, r.name, i.Labels)
	}
	return nil
}

// replicas is the service's instance count.
func (r *release) replicas() int32 { return int32(max(r.rel.Service.MinInstances, 1)) }

// port is where the service's containers listen, 0 for those that
// answer nobody (workers).
func (r *release) port() int {
	switch r.rel.Service.Type {
	case config.TypeStatic:
		return StaticPort
	case config.TypeWeb, config.TypeWebPrivate:
		return r.rel.Service.Port
	}
	return 0
}

// applySecret applies the release's environment as an immutable Secret,
// named by its content, and returns its name. The Liftoff host's basics
// the environment starts from (PATH, HOME, locale, proxies ...) are left
// out, as for any container: the image's own apply.
func (r *release) applySecret(ctx context.Context) (string, error) {
	data := steps.ContainerEnv(r.rel.Env)
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "%s=%s\x00", k, data[k])
	}
	name := r.name + "-env-" + hex.EncodeToString(h.Sum(nil))[:10]
	s := coreac.Secret(name, r.ns).WithLabels(r.owner).WithType(corev1.SecretTypeOpaque).
		WithImmutable(true).WithStringData(data)
	// Which variables are secrets (names only), for ReadLog to scrub
	// their values from what the pods print.
	var secrets []string
	for k, v := range data {
		if r.rel.Scrub != nil && r.rel.Scrub.String(v) != v {
			secrets = append(secrets, k)
		}
	}
	if len(secrets) > 0 {
		slices.Sort(secrets)
		s.WithAnnotations(map[string]string{AnnotationSecretKeys: strings.Join(secrets, ",")})
	}
	if _, err := r.cs.CoreV1().Secrets(r.ns).Apply(ctx, s, apply); err != nil {
		return "", fmt.Errorf("apply the environment's Secret %s/%s: %w", r.ns, name, err)
	}
	return name, nil
}

// container is the release's container.
func (r *release) container(image, secret string) *coreac.ContainerApplyConfiguration {
	svc := r.rel.Service
	c := coreac.Container().WithName("service").WithImage(image).
		WithEnvFrom(coreac.EnvFromSource().WithSecretRef(coreac.SecretEnvSource().WithName(secret)))
	if svc.RunsAsContainer() && !svc.StartCommand.IsBlank() {
		c.WithCommand(svc.StartCommand.Argv("/bin/sh")...)
	}
	if port := r.port(); port > 0 {
		c.WithEnv(coreac.EnvVar().WithName("PORT").WithValue(strconv.Itoa(port))).
			WithPorts(coreac.ContainerPort().WithName("http").WithContainerPort(int32(port)))
		if svc.Type != config.TypeStatic || svc.HealthCheckPath != "" {
			path := svc.HealthCheckPath
			if svc.Type == config.TypeStatic {
				path = "/"
			}
			probe := func() *coreac.ProbeApplyConfiguration {
				return coreac.Probe().WithHTTPGet(coreac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString("http"))).
					WithPeriodSeconds(int32(max(svc.HealthCheckIntervalSecs, 1))).WithTimeoutSeconds(5).WithFailureThreshold(3)
			}
			c.WithReadinessProbe(probe()).
				WithLivenessProbe(probe().WithInitialDelaySeconds(int32(svc.HealthCheckTimeoutSecs)))
		}
	}
	return c
}

// deployment is the Deployment of the release.
func (r *release) deployment(image, secret string) *appsac.DeploymentApplyConfiguration {
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	return appsac.Deployment(r.name, r.ns).WithLabels(r.labels()).
		WithSpec(appsac.DeploymentSpec().
			WithReplicas(r.replicas()).
			WithRevisionHistoryLimit(int32(max(r.rel.Service.VersionHistoryCount, 1))).
			WithProgressDeadlineSeconds(int32(r.t.cfg.RolloutTimeout.Seconds())).
			WithSelector(metaac.LabelSelector().WithMatchLabels(r.owner)).
			WithStrategy(appsac.DeploymentStrategy().WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsac.RollingUpdateDeployment().WithMaxUnavailable(maxUnavailable).WithMaxSurge(maxSurge))).
			WithTemplate(coreac.PodTemplateSpec().WithLabels(r.podLabels(ComponentServer)).
				WithSpec(coreac.PodSpec().WithContainers(r.container(image, secret)))))
}

// applyService applies the Service in front of the pods.
func (r *release) applyService(ctx context.Context) error {
	s := coreac.Service(r.name, r.ns).WithLabels(r.owner).
		WithSpec(coreac.ServiceSpec().WithSelector(r.serverSelector()).
			WithPorts(coreac.ServicePort().WithName("http").WithPort(80).WithTargetPort(intstr.FromString("http"))))
	if _, err := r.cs.CoreV1().Services(r.ns).Apply(ctx, s, apply); err != nil {
		return fmt.Errorf("apply Service %s/%s: %w", r.ns, r.name, err)
	}
	return nil
}

// applyIngress routes the service's hosts to its Service, and reports
// whether it applied one (names of the Liftoff host only need none).
func (r *release) applyIngress(ctx context.Context) (bool, error) {
	spec := netac.IngressSpec()
	if r.st.IngressClass != "" {
		spec.WithIngressClassName(r.st.IngressClass)
	}
	backend := netac.IngressBackend().WithService(netac.IngressServiceBackend().WithName(r.name).
		WithPort(netac.ServiceBackendPort().WithName("http")))
	var hosts []string
	for _, h := range r.rel.Hosts {
		if strings.HasSuffix(h, ".localhost") {
			continue // names of the Liftoff host
		}
		hosts = append(hosts, h)
		spec.WithRules(netac.IngressRule().WithHost(h).WithHTTP(netac.HTTPIngressRuleValue().
			WithPaths(netac.HTTPIngressPath().WithPath("/").WithPathType("Prefix").WithBackend(backend))))
	}
	if len(hosts) == 0 {
		return false, nil
	}
	if r.t.cfg.IngressTLS {
		spec.WithTLS(netac.IngressTLS().WithHosts(hosts...).WithSecretName(r.name + "-tls"))
	}
	r.printf("Applying Ingress %s/%s for %s", r.ns, r.name, strings.Join(hosts, ", "))
	ing := netac.Ingress(r.name, r.ns).WithLabels(r.owner).WithSpec(spec)
	if len(r.t.cfg.IngressAnnotations) > 0 {
		ing.WithAnnotations(r.t.cfg.IngressAnnotations)
	}
	if _, err := r.cs.NetworkingV1().Ingresses(r.ns).Apply(ctx, ing, apply); err != nil {
		return false, fmt.Errorf("apply Ingress %s/%s: %w", r.ns, r.name, err)
	}
	return true, nil
}

// kept says which of a service's long-lived objects its release applied.
type kept struct{ deployment, service, ingress bool }

// pruneStale deletes the service's Deployment, Service and Ingress that
// its release did not apply: what it had before it became a worker (no
// Service, no Ingress), a scheduler (no Deployment either), or lost its
// domain (no Ingress), as Argo CD prunes what left the manifests. They
// are found by the service's labels: nothing of another's is touched.
func (r *release) pruneStale(ctx context.Context, keep kept) error {
	sel := metav1.ListOptions{LabelSelector: selectorOf(r.owner)}
	kinds := []struct {
		kind string
		keep bool
		list func() (runtime.Object, error)
		del  func(name string, opts metav1.DeleteOptions) error
	}{
		{"Deployment", keep.deployment,
			func() (runtime.Object, error) { return r.cs.AppsV1().Deployments(r.ns).List(ctx, sel) },
			func(name string, o metav1.DeleteOptions) error {
				return r.cs.AppsV1().Deployments(r.ns).Delete(ctx, name, o)
			}},
		{"Service", keep.service,
			func() (runtime.Object, error) { return r.cs.CoreV1().Services(r.ns).List(ctx, sel) },
			func(name string, o metav1.DeleteOptions) error {
				return r.cs.CoreV1().Services(r.ns).Delete(ctx, name, o)
			}},
		{"Ingress", keep.ingress,
			func() (runtime.Object, error) { return r.cs.NetworkingV1().Ingresses(r.ns).List(ctx, sel) },
			func(name string, o metav1.DeleteOptions) error {
				return r.cs.NetworkingV1().Ingresses(r.ns).Delete(ctx, name, o)
			}},
	}
	background := metav1.DeletePropagationBackground
	for _, k := range kinds {
		if k.keep {
			continue
		}
		list, err := k.list()
		if err != nil {
			return fmt.Errorf("list the %ss of %s: %w", k.kind, r.rel.Service.ID, err)
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return fmt.Errorf("list the %ss of %s: %w", k.kind, r.rel.Service.ID, err)
		}
		for _, item := range items {
			o, err := apimeta.Accessor(item)
			if err != nil || o.GetDeletionTimestamp() != nil {
				continue
			}
			r.printf("Deleting %s %s/%s: the service's config no longer has it", k.kind, r.ns, o.GetName())
			uid := o.GetUID()
			err = k.del(o.GetName(), metav1.DeleteOptions{PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return fmt.Errorf("delete %s %s/%s: %w", k.kind, r.ns, o.GetName(), err)
			}
		}
	}
	return nil
}

// rollback puts back what Liftoff applied before the failed rollout: its
// pod template is the previous ReplicaSet's, which takes the replicas
// back. With no previous release, the failed Deployment is deleted.
func (r *release) rollback(ctx context.Context, prev *appsac.DeploymentApplyConfiguration) {
	ctx = context.WithoutCancel(ctx)
	if prev == nil {
		r.printf("Deleting Deployment %s/%s: its first rollout failed", r.ns, r.name)
		if err := r.cs.AppsV1().Deployments(r.ns).Delete(ctx, r.name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			r.printf("Could not delete it: %v", err)
		}
		return
	}
	r.printf("Rolling back Deployment %s/%s to the previous release", r.ns, r.name)
	if _, err := r.cs.AppsV1().Deployments(r.ns).Apply(ctx, prev, apply); err != nil {
		r.printf("Could not roll back: %v", err)
	}
}

// pruneSecrets deletes the service's environment Secrets that none of
// its ReplicaSets (versionHistoryCount keeps them), CronJobs or Jobs (a
// run still going, a finished one until its TTL) uses any more.
func (r *release) pruneSecrets(ctx context.Context, keep string) {
	sel := metav1.ListOptions{LabelSelector: selectorOf(r.owner)}
	used := map[string]bool{keep: true}
	uses := func(spec corev1.PodSpec) {
		for _, c := range spec.Containers {
			for _, e := range c.EnvFrom {
				if e.SecretRef != nil {
					used[e.SecretRef.Name] = true
				}
			}
		}
	}
	rss, err := r.cs.AppsV1().ReplicaSets(r.ns).List(ctx, sel)
	if err != nil {
		return
	}
	for _, rs := range rss.Items {
		uses(rs.Spec.Template.Spec)
	}
	cjs, err := r.cs.BatchV1().CronJobs(r.ns).List(ctx, sel)
	if err != nil {
		return
	}
	for _, cj := range cjs.Items {
		uses(cj.Spec.JobTemplate.Spec.Template.Spec)
	}
	jobs, err := r.cs.BatchV1().Jobs(r.ns).List(ctx, sel)
	if err != nil {
		return
	}
	for _, j := range jobs.Items {
		uses(j.Spec.Template.Spec)
	}
	secrets, err := r.cs.CoreV1().Secrets(r.ns).List(ctx, sel)
	if err != nil {
		return
	}
	for _, s := range secrets.Items {
		if !used[s.Name] {
			if err := r.cs.CoreV1().Secrets(r.ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				r.t.cfg.Log.Warn("delete an unused Secret", "namespace", r.ns, "name", s.Name, "err", err)
			}
		}
	}
}
