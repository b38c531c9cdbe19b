package bundles

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the manager's Prometheus series, labelled by source name.
type metrics struct {
	// revision is 1 for each source's active revision (OPA's bundle
	// status, as a metric).
	revision *prometheus.GaugeVec
	// lastCheck and lastActivation are Unix times.
	lastCheck      *prometheus.GaugeVec
	lastActivation *prometheus.GaugeVec
	// failing is 1 while a source's last check failed.
	failing *prometheus.GaugeVec
	// failures counts failed checks by stage: fetch (source unreachable),
	// read (bad bundle, bad signature, Rego syntax), test or load (compile,
	// settings, overlapping roots).
	failures *prometheus.CounterVec
	// activations counts revisions swapped in.
	activations *prometheus.CounterVec
	// loads counts engine loads: each is a full compile.
	loads prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "runpolicy_bundle_revision_info",
			Help: "Active revision of each policy bundle source (value 1).",
		}, []string{"source", "revision"}),
		lastCheck: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "runpolicy_bundle_last_check_timestamp_seconds",
			Help: "When each policy bundle source was last checked for a new revision.",
		}, []string{"source"}),
		lastActivation: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "runpolicy_bundle_last_activation_timestamp_seconds",
			Help: "When each policy bundle source last had a new revision activated.",
		}, []string{"source"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "runpolicy_bundle_failing",
			Help: "1 while the last check of a policy bundle source failed; the previous revision stays active.",
		}, []string{"source"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_bundle_failures_total",
			Help: "Failed checks of policy bundle sources, by stage (fetch, read, test, load).",
		}, []string{"source", "stage"}),
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runpolicy_bundle_activations_total",
			Help: "Revisions of policy bundle sources activated.",
		}, []string{"source"}),
		loads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "runpolicy_bundle_loads_total",
			Help: "Policy set compilations (engine loads) triggered by bundle changes.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.revision, m.lastCheck, m.lastActivation, m.failing, m.failures, m.activations, m.loads} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register bundle metrics: %w", err)
		}
	}
	return m, nil
}
