package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/target"
)

// FieldManager owns every field Liftoff applies.
const FieldManager = "liftoff"

// Labels of every object Liftoff makes.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelProject     = "liftoff.dev/project"
	LabelEnvironment = "liftoff.dev/environment"
	LabelPR          = "liftoff.dev/pr"
	LabelService     = "liftoff.dev/service"
	LabelDeployment  = "liftoff.dev/deployment"
	// LabelComponent tells a service's pods apart: ComponentServer on
	// its Deployment's, the only ones its Service sends traffic to;
	// the name of the command on those of its Jobs and CronJobs.
	LabelComponent = "app.kubernetes.io/component"
)

// AnnotationSecretKeys on a service's environment Secret names the
// variables whose values are secrets (comma-separated): ReadLog scrubs
// those values from the pods' logs.
const AnnotationSecretKeys = "liftoff.dev/secret-keys"

// ComponentServer is LabelComponent's value on the pods that serve.
const ComponentServer = "server"

// managedBy is LabelManagedBy's value on Liftoff's objects.
const managedBy = "liftoff"

// StaticPort is the port a static site's image serves at.
const StaticPort = 8080

// Settings are where a service's releases go. The operator's defaults
// fill in what the service's target leaves out.
type Settings struct {
	// Namespace of the service's objects; made when missing.
	Namespace string
	// Context of the kubeconfig naming the cluster; empty: its current one.
	Context string
	// Registry the images are pushed to (host[:port][/path]).
	Registry string
	// IngressClass of web services' Ingresses; empty: the cluster's default.
	IngressClass string
}

// merge returns s with the service's own settings over it.
func (s Settings) merge(t config.Target) Settings {
	for _, f := range []struct {
		dst *string
		v   string
	}{{&s.Namespace, t.Namespace}, {&s.Context, t.Context}, {&s.Registry, t.Registry}, {&s.IngressClass, t.IngressClass}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	return s
}

// Images makes the images releases run.
type Images interface {
	// Publish pushes the image of rel to registry and returns a
	// reference the cluster pulls it by (repository@digest). A release
	// whose Image is already such a reference (a redeploy) is returned
	// as it is.
	Publish(ctx context.Context, rel target.Release, registry string) (string, error)
}

// Config is the target's configuration, built once.
type Config struct {
	// Kubeconfig is the kubeconfig file; InCluster: the cluster Liftoff
	// runs in; empty: the usual loading rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string
	// Defaults are the operator's settings.
	Defaults Settings
	// Images publishes the releases' images. Required.
	Images Images
	// RolloutTimeout bounds a rollout: past it the release fails and is
	// rolled back. Default 10 minutes.
	RolloutTimeout time.Duration
	// Default sends the services that leave the target to the operator
	// (no target, or Flightcontrol's) to the cluster.
	Default bool
	// IngressAnnotations go on every Ingress: those of the cluster's
	// ingress controller, or cert-manager's
	// (cert-manager.io/cluster-issuer) to get certificates.
	IngressAnnotations map[string]string
	// IngressTLS gives every Ingress a TLS section for its hosts, with
	// the certificate in the Secret <name>-tls (which cert-manager, given
	// its annotation, issues and renews).
	IngressTLS bool
	// Log is the operator's log. Nil discards.
	Log *slog.Logger
	// REST, when set, is the cluster of every context (tests).
	REST *rest.Config
}

// InCluster as Config.Kubeconfig is the cluster Liftoff runs in, through
// its pod's service account.
const InCluster = "in-cluster"

// Check reads the configuration of the default context's cluster,
// without reaching it.
func (t *Target) Check(context.Context) error {
	_, err := t.client(t.cfg.Defaults.Context)
	return err
}

// Target releases services to Kubernetes.
type Target struct {
	cfg Config

	mu      sync.Mutex
	clients map[string]kubernetes.Interface // by context
}

var _ target.Target = (*Target)(nil)

// New returns the target.
func New(cfg Config) (*Target, error) {
	if cfg.Images == nil {
		return nil, errors.New("kubernetes target: Images is required")
	}
	if cfg.RolloutTimeout <= 0 {
		cfg.RolloutTimeout = 10 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Target{cfg: cfg, clients: map[string]kubernetes.Interface{}}, nil
}

// Settings returns where svc's releases go.
func (t *Target) Settings(svc config.Service) Settings {
	return t.cfg.Defaults.merge(svc.Target)
}

// client returns the client of a kubeconfig context.
func (t *Target) client(kubeContext string) (kubernetes.Interface, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.clients[kubeContext]; ok {
		return c, nil
	}
	rc := t.cfg.REST
	if rc == nil && t.cfg.Kubeconfig == InCluster {
		var err error
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("the cluster Liftoff runs in: %w", err)
		}
	}
	if rc == nil {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if t.cfg.Kubeconfig != "" {
			rules.ExplicitPath = t.cfg.Kubeconfig
		}
		var err error
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
			&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
		if err != nil {
			if kubeContext != "" {
				return nil, fmt.Errorf("kubeconfig context %q: %w", kubeContext, err)
			}
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "liftoff"
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	t.clients[kubeContext] = c
	return c, nil
}

// Domain is where people reach a web service or a static site: its first
// host that is not a wildcard, through the cluster's ingress.
func (t *Target) Domain(svc config.Service, hosts []string) string {
	if !svc.ServesDomain() {
		return ""
	}
	for _, h := range hosts {
		if !strings.HasPrefix(h, "*.") && !strings.HasSuffix(h, ".localhost") {
			return "https://" + h
		}
	}
	return ""
}

// labels names the instance of a release's service, the selector of its
// pods; with the deployment, every object's labels.
func instanceLabels(inst target.Instance) map[string]string {
	return map[string]string{
		LabelManagedBy:   managedBy,
		LabelProject:     inst.ProjectID,
		LabelEnvironment: strconv.FormatInt(inst.EnvironmentID, 10),
		LabelPR:          strconv.Itoa(inst.PRNumber),
	}
}

func serviceLabels(inst target.Instance, serviceID string) map[string]string {
	l := instanceLabels(inst)
	l[LabelService] = labelValue(serviceID)
	return l
}

// labelValue is s as a label's value: s itself when it is one; else (a
// service id ending with '-' or '_') cut where it may end, with a hash
// of the whole.
func labelValue(s string) string {
	if len(validation.IsValidLabelValue(s)) == 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimRight(s[:min(len(s), 54)], "-_.") + "-" + hex.EncodeToString(sum[:])[:8]
}

// selectorOf is a label selector of labels.
func selectorOf(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

// ObjectName is the name of a service's objects in an instance: the
// service's id as a DNS label (starting with a letter, as a Service's
// name must: "s-" before a digit), with -pr-N for a preview instance, cut
// with a hash where it would pass 63 characters.
func ObjectName(inst target.Instance, serviceID string) string {
	name := strings.Trim(strings.ToLower(strings.ReplaceAll(serviceID, "_", "-")), "-")
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "s-" + name
	}
	if inst.PRNumber > 0 {
		name += "-pr-" + strconv.Itoa(inst.PRNumber)
	}
	return dnsName(name, 63)
}

// dnsName is name (lowercase letters, digits and '-') made a DNS label
// of at most limit characters: a longer one is cut and ends with a hash
// of the whole, so that names differing past the cut stay apart.
func dnsName(name string, limit int) string {
	if len(name) > limit {
		sum := sha256.Sum256([]byte(name))
		name = strings.TrimRight(name[:limit-9], "-") + "-" + hex.EncodeToString(sum[:])[:8]
	}
	return strings.Trim(name, "-")
}

// ownedBy reports whether an object's labels say it is the service's.
func ownedBy(labels map[string]string, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// notOurs is the error of an object Liftoff does not manage.
func notOurs(kind, namespace, name string, labels map[string]string) error {
	owner := "not Liftoff's"
	if labels[LabelManagedBy] == managedBy {
		owner = "another Liftoff service's (project " + labels[LabelProject] + ", service " + labels[LabelService] + ")"
	}
	return fmt.Errorf("%s %s/%s exists and is %s: Liftoff never changes an object it does not manage; "+
		"rename or remove it, or deploy the service to another namespace (target.namespace)", kind, namespace, name, owner)
}

var _ target.Internal = (*Target)(nil)
