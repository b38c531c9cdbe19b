package webhook

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The server's Prometheus series, grouped by the part that counts them.
type (
	receiveMetrics struct {
		deliveries        *prometheus.CounterVec
		refused           *prometheus.CounterVec
		signatureFailures *prometheus.CounterVec
		ack               prometheus.Histogram
	}
	dispatchMetrics struct {
		processed *prometheus.CounterVec
	}
	judgeMetrics struct {
		decisions       *prometheus.CounterVec
		policyDecisions *prometheus.CounterVec
		violations      *prometheus.CounterVec
		seconds         prometheus.Histogram
	}
	actMetrics struct {
		cancels  *prometheus.CounterVec
		toCancel prometheus.Histogram
		reports  *prometheus.CounterVec
	}
	sweepMetrics struct {
		redeliveries prometheus.Counter
	}
)

func newReceiveMetrics() *receiveMetrics {
	return &receiveMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_webhook_deliveries_total",
			Help: "Webhook deliveries whose signature was verified, by event and outcome (queued, duplicate, ignored, bad_request, error).",
		}, []string{"event", "outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_webhook_refused_total",
			Help: "Requests to /webhook refused before their signature was verified, by reason (unauthorized, too_large, busy, bad_request).",
		}, []string{"reason"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_webhook_signature_failures_total",
			Help: "Deliveries refused for their X-Hub-Signature-256, by reason (missing, malformed, mismatch).",
		}, []string{"reason"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "runpolicy_webhook_ack_seconds",
			Help:    "Time from a delivery's arrival to its acknowledgement (persisted and queued).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
	}
}

func newDispatchMetrics() *dispatchMetrics {
	return &dispatchMetrics{processed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "runpolicy_deliveries_processed_total",
		Help: "Deliveries taken from the queue, by event and outcome (judged, skipped, recorded, failed).",
	}, []string{"event", "outcome"})}
}

func newJudgeMetrics() *judgeMetrics {
	return &judgeMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_decisions_total",
			Help: "Decisions on workflow runs, each counted once by outcome (allow, deny, error).",
		}, []string{"outcome"}),
		policyDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_policy_decisions_total",
			Help: "Decisions in which a policy found violations, by policy and the strongest mode of its violations (enforce over dry_run).",
		}, []string{"policy", "mode"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_violations_total",
			Help: "Violations found, by policy and mode.",
		}, []string{"policy", "mode"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "runpolicy_judge_seconds",
			Help:    "Time to judge a run: fetch, parse, resolve and evaluate.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
	}
}

func newActMetrics() *actMetrics {
	return &actMetrics{
		cancels: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_cancels_total",
			Help: "Run cancellations by kind (cancel, force_cancel) and result (accepted, already_finished).",
		}, []string{"kind", "result"}),
		toCancel: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "runpolicy_delivery_to_cancel_seconds",
			Help:    "Time from a delivery's arrival to GitHub accepting the cancel of its run.",
			Buckets: []float64{.005, .01, .015, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_reports_total",
			Help: "Check runs and pull request comments, by kind and action (created, updated).",
		}, []string{"kind", "action"}),
	}
}

func newSweepMetrics() *sweepMetrics {
	return &sweepMetrics{redeliveries: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "runpolicy_redeliveries_requested_total",
		Help: "Failed deliveries GitHub was asked to send again.",
	})}
}

func (m *receiveMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.deliveries, m.refused, m.signatureFailures, m.ack}
}

func (m *dispatchMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.processed}
}

func (m *judgeMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.decisions, m.policyDecisions, m.violations, m.seconds}
}

func (m *actMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.cancels, m.toCancel, m.reports}
}

func (m *sweepMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.redeliveries}
}

// register adds the series of every part, the queue depth (read from
// depth at scrape time), the large-body budget in use and the process's
// own series to reg.
func register(reg *prometheus.Registry, depth func(context.Context) (map[string]int, error), largeHeld func() float64,
	parts ...[]prometheus.Collector) {
	for _, p := range parts {
		reg.MustRegister(p...)
	}
	reg.MustRegister(queueCollector{depth},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "runpolicy_webhook_large_body_bytes",
			Help: "Bytes of the large-body budget held by bodies over 256 KB being read, authenticated or not yet.",
		}, largeHeld))
	for _, c := range []prometheus.Collector{collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		_ = reg.Register(c) // already registered by the caller is fine
	}
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// queueCollector reports the queue depth at scrape time.
type queueCollector struct {
	depth func(context.Context) (map[string]int, error)
}

var queueDesc = prometheus.NewDesc("runpolicy_queue_jobs", "Jobs in the queue by state (available, scheduled, retryable, running, pending).", []string{"state"}, nil)

func (q queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (q queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depth, err := q.depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDesc, err)
		return
	}
	for _, state := range []string{"available", "pending", "retryable", "running", "scheduled"} {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(depth[state]), state)
	}
}
