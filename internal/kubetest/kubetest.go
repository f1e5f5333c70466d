// Package kubetest starts a real Kubernetes control plane for tests, as
// gittest makes real git repositories: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with kwok (the Kubernetes
// project's kubelet simulator) running fake nodes whose pods become Running
// and Ready, or never Ready when a test marks them so (NeverReadyLabel,
// NeverReadyPath, FailLabel).
//
// The binaries are built once per machine by `make kube-tools`
// (.ci/kube-tools); etcd is Debian's etcd-server. Where they are missing
// the tests skip, saying how to build them, unless LIFTOFF_KUBETEST_REQUIRE
// is set (CI sets it), where they fail.
//
// Every process listens on loopback only, on free ports, with its data and
// log in one directory; the kernel kills them if the test process dies. A
// control plane takes seconds to start, so a package's tests share one
// (Shared), each in a namespace of its own (Cluster.Namespace).
package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// RequireEnv names the variable that turns a skip for missing tools into a
// failure, so CI cannot pass without running the Kubernetes tests.
const RequireEnv = "LIFTOFF_KUBETEST_REQUIRE"

// StartTimeout bounds the start of a control plane, from the first process
// to the nodes Ready; on a loaded 2-core machine it takes tens of seconds.
const StartTimeout = 3 * time.Minute

// FakeNodeAnnotation marks the nodes kwok manages (and only those).
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// Options shape a control plane.
type Options struct {
	// Nodes is how many fake nodes kwok runs, named kwok-node-0...; 1 when
	// zero.
	Nodes int
}

// Cluster is a running control plane.
type Cluster struct {
	// Config is an administrator's client configuration (group
	// system:masters, client certificate). Copy it with rest.CopyConfig
	// before changing it.
	Config *rest.Config
	// Kubeconfig is the path of the same as a kubeconfig file, for
	// programs and for debugging: kubectl --kubeconfig <path> get pods -A.
	Kubeconfig string
	// Client is a clientset on Config.
	Client *kubernetes.Clientset
	// Dir holds the certificates, etcd's data and each process's log
	// (<name>.log).
	Dir string
	// Nodes are the names of the fake nodes, each Ready.
	Nodes []string

	// podLog is what every pod prints (PrintLog appends to it).
	podLog string
	logMu  sync.Mutex

	procs     []*process
	crashed   chan struct{} // closed when a process exits before Stop
	crashErr  error         // why, set before crashed is closed
	crashOnce sync.Once
	stopOnce  sync.Once
}

// process is one program of the control plane.
type process struct {
	name string
	log  string
	pid  int
	done chan struct{} // closed once reaped

	mu       sync.Mutex
	exited   bool // set once it has exited, before it is reaped
	stopping bool // Stop signalled it
}

// New starts a control plane with its files in dir and returns once it
// serves and its nodes are Ready. The caller calls Stop. ctx bounds the
// start only.
func New(ctx context.Context, dir string, opts Options) (*Cluster, error) {
	tools, err := FindTools()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, crashed: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	if err := c.start(ctx, tools, opts); err != nil {
		return nil, fmt.Errorf("start a Kubernetes control plane in %s: %w\n%s", dir, err, c.Logs(30))
	}
	ok = true
	return c, nil
}

func (c *Cluster) start(ctx context.Context, tools Tools, opts Options) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kubeletPort := ports[0], ports[1], ports[2], ports[3]
	host := "https://127.0.0.1:" + strconv.Itoa(apiPort)

	pkiDir := filepath.Join(c.Dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return err
	}
	p, err := newPKI(pkiDir)
	if err != nil {
		return fmt.Errorf("make the cluster's certificate authority: %w", err)
	}
	if err := p.serviceAccountKeys(); err != nil {
		return fmt.Errorf("make the service account keys: %w", err)
	}
	serving, err := p.issue(2, "kube-apiserver", nil, true,
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		[]net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 0, 0, 1)})
	if err != nil {
		return err
	}
	servingCert, servingKey, err := p.writePair("apiserver", serving)
	if err != nil {
		return err
	}
	// The controller manager runs every controller under its own name
	// (--use-service-account-credentials=false), which needs more than
	// the role of system:kube-controller-manager: it is an administrator,
	// as kwok is. The scheduler has its own role.
	clients := []struct {
		name, user string
		groups     []string
	}{
		{"admin", "kubetest-admin", []string{"system:masters"}},
		{"controller-manager", "system:kube-controller-manager", []string{"system:masters"}},
		{"scheduler", "system:kube-scheduler", nil},
		{"kwok", "kwok", []string{"system:masters"}},
	}
	kubeconfigs := map[string]string{}
	for i, cl := range clients {
		cert, err := p.issue(int64(3+i), cl.user, cl.groups, false, nil, nil)
		if err != nil {
			return err
		}
		path, rc, err := p.kubeconfig(cl.name, host, cert)
		if err != nil {
			return err
		}
		kubeconfigs[cl.name] = path
		if cl.name == "admin" {
			rc.QPS, rc.Burst = 100, 200
			c.Config, c.Kubeconfig = rc, path
		}
	}
	c.Client, err = kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := c.run("etcd", tools.Etcd,
		"--name=kubetest",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-outputs=stderr",
	); err != nil {
		return err
	}
	if err := c.run("kube-apiserver", tools.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(c.Dir, "apiserver"),
		"--tls-cert-file="+servingCert,
		"--tls-private-key-file="+servingKey,
		"--client-ca-file="+p.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.path("sa.pub"),
		"--service-account-signing-key-file="+p.path("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--profiling=false",
		// The kubernetes Service's endpoints would be this loopback
		// address, which Endpoints refuse: no pod here reaches the API
		// server through it anyway.
		"--endpoint-reconciler-type=none",
		// Debian's etcd 3.4 sends no watch progress notifications, so the
		// watch caches of quiet resources never catch up with etcd's
		// revision and the size estimates (which wait for them) only
		// log timeouts. And the API server refuses watch streams
		// (WatchList) without them: a watch of kwok's (from resource
		// version 0) then ended at once with an error, kwok saw pods
		// change only when it listed again, up to a minute apart, and
		// Jobs ended minutes late on a loaded machine. Plain watches.
		"--feature-gates=SizeBasedListCostEstimate=false,WatchList=false",
		// Pod logs come from kwok's kubelet server, at the node's
		// InternalIP (127.0.0.1): its Hostname resolves nowhere.
		"--kubelet-preferred-address-types=InternalIP",
	); err != nil {
		return err
	}
	ctx, stop := c.guard(ctx)
	defer stop()
	if err := c.waitReadyz(ctx); err != nil {
		return err
	}

	if err := c.run("kube-controller-manager", tools.ControllerManager,
		"--kubeconfig="+kubeconfigs["controller-manager"],
		"--secure-port=0",
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+p.path("sa.key"),
		"--root-ca-file="+p.path("ca.crt"),
		"--cluster-signing-cert-file="+p.path("ca.crt"),
		"--cluster-signing-key-file="+p.path("ca.key"),
		"--leader-elect=true",
		"--profiling=false",
		// kwok renews its nodes' leases from a cache, and an update on a
		// stale copy fails until the next try: should a node on a loaded
		// machine go 50 s (the default grace) without a renewal, the node
		// controller would taint it, which keeps every new pod Pending.
		// Fake nodes do not fail: no test wants that.
		"--node-monitor-grace-period=1h",
	); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", tools.Scheduler,
		"--kubeconfig="+kubeconfigs["scheduler"],
		"--secure-port=0",
		"--leader-elect=true",
		"--profiling=false",
	); err != nil {
		return err
	}
	c.podLog = filepath.Join(c.Dir, "pods.log")
	if err := os.WriteFile(c.podLog, nil, 0o600); err != nil {
		return err
	}
	stages := filepath.Join(c.Dir, "kwok.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages()+"---\n"+clusterLogs(c.podLog)), 0o600); err != nil {
		return err
	}
	if err := c.run("kwok", tools.Kwok,
		"--kubeconfig="+kubeconfigs["kwok"],
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+FakeNodeAnnotation+"=fake",
		// Given, the lease: kwok renews each node's lease as a kubelet
		// does, and heartbeats the node's status.
		"--node-lease-duration-seconds=40",
		"--node-ip=127.0.0.1",
		"--cidr=10.244.0.1/16",
		// Its kubelet server, which the nodes name as theirs: the API
		// server reads pod logs from it (HTTPS, a certificate of its own,
		// which the API server does not verify without
		// --kubelet-certificate-authority).
		"--server-address=127.0.0.1:"+strconv.Itoa(kubeletPort),
		"--node-port="+strconv.Itoa(kubeletPort),
	); err != nil {
		return err
	}

	n := max(opts.Nodes, 1)
	for i := range n {
		name := "kwok-node-" + strconv.Itoa(i)
		if err := c.createNode(ctx, name); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, name)
	}
	// The two leader leases say the controller manager and the scheduler
	// run their loops; a node Ready without taints, and its lease, say
	// kwok runs it and the node controller agrees.
	for _, name := range []string{"kube-controller-manager", "kube-scheduler"} {
		if _, err := Until(ctx, c.Client.CoordinationV1().Leases("kube-system"), func(l *coordinationv1.Lease) bool {
			return l.Name == name && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != ""
		}); err != nil {
			return fmt.Errorf("wait for %s to hold its leader lease: %w", name, err)
		}
	}
	for _, name := range c.Nodes {
		if _, err := Until(ctx, c.Client.CoreV1().Nodes(), func(n *corev1.Node) bool {
			return n.Name == name && nodeReady(n) && !nodeTainted(n)
		}); err != nil {
			return fmt.Errorf("wait for node %s to be Ready without taints: %w", name, err)
		}
		if _, err := Until(ctx, c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease), func(l *coordinationv1.Lease) bool {
			return l.Name == name
		}); err != nil {
			return fmt.Errorf("wait for node %s's lease: %w", name, err)
		}
	}
	return nil
}

func (c *Cluster) createNode(ctx context.Context, name string) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{FakeNodeAnnotation: "fake"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	if _, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodeTainted says whether the node keeps pods off (the not-ready taint
// the API server puts on a new node, until the node controller sees it
// Ready).
func nodeTainted(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return false
}

// waitReadyz asks the API server's /readyz until it answers ok: there is
// nothing to watch before the API serves.
func (c *Cluster) waitReadyz(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		_, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for kube-apiserver's /readyz: %w (last answer: %v)", context.Cause(ctx), last)
		case <-tick.C:
		}
	}
}

// run starts a program of the control plane, its output to <name>.log.
func (c *Cluster) run(name, bin string, args ...string) error {
	logPath := filepath.Join(c.Dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Nothing of the caller's environment (KUBECONFIG, proxies, ETCD_*)
	// reaches the control plane; HOME is the cluster's directory, so
	// kwok reads no ~/.kwok of the user's.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.Dir}
	cmd.SysProcAttr = procgroup.Attr()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, log: logPath, pid: cmd.Process.Pid, done: make(chan struct{})}
	c.procs = append(c.procs, p)
	go func() {
		// Mark it exited before reaping it, so Stop never signals a
		// reaped (reusable) pid.
		procgroup.WaitExited(p.pid)
		p.mu.Lock()
		p.exited = true
		stopping := p.stopping
		p.mu.Unlock()
		err := cmd.Wait()
		_ = f.Close()
		close(p.done)
		if !stopping {
			c.crashOnce.Do(func() {
				c.crashErr = fmt.Errorf("%s exited (%v); the end of its log:\n%s", name, err, tail(logPath, 30))
				close(c.crashed)
			})
		}
	}()
	return nil
}

// guard returns a context that ends when a process of the control plane
// exits, with that as its cause.
func (c *Cluster) guard(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-c.crashed:
			cancel(c.crashErr)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// Stop stops every process, the last started first (kwok before the API
// server, the API server before etcd), each with SIGTERM and, after 10s,
// SIGKILL. It does not remove Dir. Calling it again does nothing.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		for i := len(c.procs) - 1; i >= 0; i-- {
			p := c.procs[i]
			p.signal(syscall.SIGTERM)
			timer := time.NewTimer(10 * time.Second)
			select {
			case <-p.done:
			case <-timer.C:
				p.signal(syscall.SIGKILL)
				<-p.done
			}
			timer.Stop()
		}
	})
}

func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopping = true
	if !p.exited {
		procgroup.Signal(p.pid, sig)
	}
}

// Logs returns the last lines of every process's log, for a failed test.
func (c *Cluster) Logs(lines int) string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "==== %s (%s), last %d lines\n%s\n", p.name, p.log, lines, tail(p.log, lines))
	}
	return b.String()
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// Namespace makes a namespace for one test, named after it, and deletes
// it when the test ends. It returns once the namespace's default service
// account exists, which pods need before they can be created.
func (c *Cluster) Namespace(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, stop := c.guard(ctx)
	defer stop()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(tb.Name())},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("create a namespace: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if tb.Failed() {
			tb.Logf("kubetest: the cluster as the test left it:\n%s", c.Describe(ctx, ns.Name))
		}
		_ = c.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	})
	if _, err := Until(ctx, c.Client.CoreV1().ServiceAccounts(ns.Name), func(sa *corev1.ServiceAccount) bool {
		return sa.Name == "default"
	}); err != nil {
		tb.Fatalf("wait for the default service account of namespace %s: %v", ns.Name, err)
	}
	return ns.Name
}

var notDNSLabel = regexp.MustCompile(`[^a-z0-9]+`)

// namespacePrefix is a test's name as the start of a namespace name (a
// DNS label, with room for the generated suffix).
func namespacePrefix(test string) string {
	s := strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(s) > 50 {
		s = strings.TrimRight(s[:50], "-")
	}
	return s + "-"
}

// ListWatcher lists and watches one kind of object: a typed client such as
// Client.AppsV1().Deployments(ns).
type ListWatcher[L runtime.Object] interface {
	List(ctx context.Context, opts metav1.ListOptions) (L, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// Until lists the objects lw serves and watches them until cond holds for
// one of them, and returns that object. It ends with ctx's cause if ctx
// ends first. A watch that closes or expires is taken up again (listing
// anew after an expiry), as an informer does.
//
//	d, err := kubetest.Until(ctx, client.AppsV1().Deployments(ns), func(d *appsv1.Deployment) bool {
//		return d.Name == "web" && d.Status.AvailableReplicas == 2
//	})
func Until[T runtime.Object, L runtime.Object](ctx context.Context, lw ListWatcher[L], cond func(T) bool) (T, error) {
	var zero T
	fail := func(err error) (T, error) {
		if ctx.Err() != nil {
			return zero, context.Cause(ctx)
		}
		return zero, err
	}
	rv := ""
	for {
		if rv == "" {
			list, err := lw.List(ctx, metav1.ListOptions{})
			if err != nil {
				return fail(err)
			}
			items, err := meta.ExtractList(list)
			if err != nil {
				return zero, err
			}
			for _, item := range items {
				if obj, ok := item.(T); ok && cond(obj) {
					return obj, nil
				}
			}
			listMeta, err := meta.ListAccessor(list)
			if err != nil {
				return zero, err
			}
			rv = listMeta.GetResourceVersion()
		}
		w, err := lw.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			return fail(err)
		}
		var obj T
		var found bool
		obj, found, rv, err = untilEvent(w, cond, rv)
		if err != nil {
			return fail(err)
		}
		if found {
			return obj, nil
		}
		if ctx.Err() != nil {
			return zero, context.Cause(ctx)
		}
	}
}

// untilEvent reads w's events until one's object satisfies cond (found),
// the watch ends (it returns the resource version to watch on from) or
// expires (it returns "", to list again).
func untilEvent[T runtime.Object](w watch.Interface, cond func(T) bool, rv string) (obj T, found bool, next string, err error) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Added, watch.Modified, watch.Bookmark:
			if m, err := meta.Accessor(ev.Object); err == nil {
				rv = m.GetResourceVersion()
			}
			if o, ok := ev.Object.(T); ok && ev.Type != watch.Bookmark && cond(o) {
				return o, true, rv, nil
			}
		case watch.Error:
			err := apierrors.FromObject(ev.Object)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				return obj, false, "", nil
			}
			return obj, false, rv, err
		}
	}
	return obj, false, rv, nil
}

// freePorts finds n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Start starts a control plane for one test (or benchmark), with its files
// in tb.TempDir(), and stops it when the test ends, first printing the end
// of every log if the test failed. It skips the test where the tools are
// missing (see RequireEnv). Prefer Shared where a package has several
// tests.
func Start(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	began := time.Now()
	c, err := New(ctx, tb.TempDir(), opts)
	if err != nil {
		skipOrFail(tb, err)
	}
	tb.Logf("kubetest: control plane ready in %v", time.Since(began).Round(time.Millisecond))
	tb.Cleanup(c.Stop)
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kubetest: the control plane's logs:\n%s", c.Logs(60))
		}
	})
	return c
}

func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNoTools) && os.Getenv(RequireEnv) == "" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

// Shared is one control plane for a package's tests, started by the first
// test that asks for it and stopped by TestMain:
//
//	var cluster kubetest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(cluster.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		c := cluster.Get(t)
//		ns := c.Namespace(t)
//		...
//	}
type Shared struct {
	Options Options

	once  sync.Once
	c     *Cluster
	err   error
	dir   string
	took  time.Duration
	gotOK bool // the first successful Get has logged the start time
	mu    sync.Mutex
}

// Get returns the package's control plane, starting it on the first call;
// it skips or fails tb as Start does. When tb fails, the end of every log
// is printed.
func (s *Shared) Get(tb testing.TB) *Cluster {
	tb.Helper()
	s.once.Do(func() {
		s.dir, s.err = os.MkdirTemp("", "liftoff-kubetest-")
		if s.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		defer cancel()
		began := time.Now()
		s.c, s.err = New(ctx, s.dir, s.Options)
		s.took = time.Since(began)
	})
	if s.err != nil {
		skipOrFail(tb, s.err)
	}
	s.mu.Lock()
	if !s.gotOK {
		s.gotOK = true
		tb.Logf("kubetest: control plane ready in %v", s.took.Round(time.Millisecond))
	}
	s.mu.Unlock()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("kubetest: the control plane's logs:\n%s", s.c.Logs(60))
		}
	})
	return s.c
}

// Stop stops the control plane, if one was started, and removes its files.
func (s *Shared) Stop() {
	if s.c != nil {
		s.c.Stop()
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Run runs the package's tests (m.Run), then Stop, and returns m.Run's
// exit code.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	s.Stop()
	return code
}
