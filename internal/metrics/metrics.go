// Package metrics is what Liftoff tells Prometheus: hook calls by outcome,
// deployments by final status, how long builds and releases take, the
// queue, busy workers, service restarts, store latency and the output
// stored. Every label takes a value from a small fixed set (an outcome, a
// status, an HTTP status code, a kind of store call): never an id, a name
// a user chose, or a secret, so the series stay few whatever is deployed.
//
// A nil *Metrics records nothing, so the packages it instruments work
// without it (their tests pass none).
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Hook call outcomes, beside the ones a refusal's status code says.
const (
	OutcomeQueued     = "queued"     // a new deployment
	OutcomeJoined     = "joined"     // an equal PENDING deployment answered
	OutcomeSuperseded = "superseded" // a new deployment, which cancelled a PENDING one of another commit
	OutcomeIdempotent = "idempotent" // the Idempotency-Key was seen before
	OutcomeRefused    = "refused"    // an error answered; the code label says which
)

// Results of a build or a release.
const (
	ResultSuccess   = "success"
	ResultFailure   = "failure"
	ResultCancelled = "cancelled"
)

// durationBuckets cover a build or a release: a second to half an hour.
func durationBuckets() []float64 {
	return []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800}
}

// QueueState is the queue as the store holds it, for every replica.
type QueueState struct {
	Pending int
	// OldestPending is how long the oldest PENDING deployment has
	// waited; 0 when none waits.
	OldestPending time.Duration
	Running       int
}

// Metrics holds the collectors of one server, on a registry of its own.
type Metrics struct {
	reg         *prometheus.Registry
	hookCalls   *prometheus.CounterVec
	deployments *prometheus.CounterVec
	builds      *prometheus.HistogramVec
	releases    *prometheus.HistogramVec
	workers     prometheus.Gauge
	busy        prometheus.Gauge
	restarts    prometheus.Counter
	store       *prometheus.HistogramVec
	logBytes    prometheus.Counter
	logLines    prometheus.Counter
}

// New makes the collectors and registers them, with the Go runtime's and
// the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		hookCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftoff_hook_calls_total",
			Help: "Deploy hook calls answered, by outcome (queued, joined, superseded, idempotent, refused) and HTTP status code."},
			[]string{"outcome", "code"}),
		deployments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftoff_deployments_finished_total",
			Help: "Deployments this replica ran to their end, by final status."}, []string{"status"}),
		builds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "liftoff_build_duration_seconds",
			Help: "How long a service's build took, by result.", Buckets: durationBuckets()}, []string{"result"}),
		releases: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "liftoff_release_duration_seconds",
			Help: "How long a service's release took to be healthy and take traffic, by result.", Buckets: durationBuckets()}, []string{"result"}),
		workers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftoff_workers",
			Help: "Deployment workers of this replica (liftoff serve --workers)."}),
		busy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftoff_workers_busy",
			Help: "Deployment workers of this replica running a deployment now."}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftoff_service_restarts_total",
			Help: "Restarts of running services whose instance exited or failed its health check, on this replica."}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "liftoff_store_duration_seconds",
			Help:    "Latency of the store's calls, by kind: read, write (a statement's commit), write_bulk (output), tx (a transaction).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"op"}),
		logBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftoff_log_bytes_stored_total",
			Help: "Bytes of deployment and job output this replica stored."}),
		logLines: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftoff_log_lines_stored_total",
			Help: "Lines of deployment and job output this replica stored."}),
	}
	m.reg.MustRegister(m.hookCalls, m.deployments, m.builds, m.releases, m.workers, m.busy, m.restarts, m.store, m.logBytes, m.logLines,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchQueue registers the queue gauges, which read is called for at each
// scrape (with a bound of its own), from the store, so that every replica
// reports the whole queue. Call it once.
func (m *Metrics) WatchQueue(read func(ctx context.Context) (QueueState, error)) {
	m.reg.MustRegister(&queueCollector{read: read})
}

// Handler serves the metrics in Prometheus's text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	// A series that cannot be read (the queue, when the store is down)
	// is left out with its error, not the whole scrape: the store's
	// latency and the process's series matter most then.
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// HookCall counts a hook call answered with code.
func (m *Metrics) HookCall(outcome string, code int) {
	if m == nil {
		return
	}
	m.hookCalls.WithLabelValues(outcome, strconv.Itoa(code)).Inc()
}

// DeploymentFinished counts a deployment this replica ran, by its final
// status.
func (m *Metrics) DeploymentFinished(status string) {
	if m == nil {
		return
	}
	m.deployments.WithLabelValues(status).Inc()
}

// Build records a build's duration.
func (m *Metrics) Build(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.builds.WithLabelValues(result).Observe(took.Seconds())
}

// Release records a release's duration.
func (m *Metrics) Release(result string, took time.Duration) {
	if m == nil {
		return
	}
	m.releases.WithLabelValues(result).Observe(took.Seconds())
}

// Workers sets how many workers this replica has.
func (m *Metrics) Workers(n int) {
	if m == nil {
		return
	}
	m.workers.Set(float64(n))
}

// WorkerBusy marks one worker busy (+1) or idle again (-1).
func (m *Metrics) WorkerBusy(delta int) {
	if m == nil {
		return
	}
	m.busy.Add(float64(delta))
}

// ServiceRestarted counts a restart of a running service.
func (m *Metrics) ServiceRestarted() {
	if m == nil {
		return
	}
	m.restarts.Inc()
}

// StoreCall records a store call's latency; op is read, write,
// write_bulk or tx.
func (m *Metrics) StoreCall(op string, took time.Duration) {
	if m == nil {
		return
	}
	m.store.WithLabelValues(op).Observe(took.Seconds())
}

// OutputStored counts output lines stored and their bytes.
func (m *Metrics) OutputStored(lines, bytes int) {
	if m == nil {
		return
	}
	m.logLines.Add(float64(lines))
	m.logBytes.Add(float64(bytes))
}

// queueCollector reads the queue from the store at each scrape.
type queueCollector struct {
	read func(ctx context.Context) (QueueState, error)
}

var (
	pendingDesc = prometheus.NewDesc("liftoff_deployments_pending",
		"Deployments waiting for a worker (PENDING), on every replica.", nil, nil)
	oldestDesc = prometheus.NewDesc("liftoff_oldest_pending_deployment_age_seconds",
		"How long the oldest PENDING deployment has waited; 0 when none waits.", nil, nil)
	runningDesc = prometheus.NewDesc("liftoff_deployments_running",
		"Deployments a worker runs now, on every replica.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- oldestDesc
	ch <- runningDesc
}

// Collect reads the queue within a bound, so a slow store cannot hang a
// scrape; a failed read leaves the queue's series out of that scrape.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(pendingDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(q.Pending))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, q.OldestPending.Seconds())
	ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(q.Running))
}
