package jobs

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the per-job collectors; a nil *metrics records nothing.
type metrics struct {
	runs, failures *prometheus.CounterVec
	duration       *prometheus.HistogramVec
}

// newMetrics registers the job collectors with reg (none when reg is
// nil). A collector already registered, by an earlier Runner on the same
// registry, is shared rather than an error.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roost_job_runs_total", Help: "Background job passes (or starts of a long-running job).",
		}, []string{"job"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roost_job_failures_total", Help: "Background job passes that failed or panicked.",
		}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roost_job_duration_seconds", Help: "How long a background job pass (or run of a long-running job) took.",
			Buckets: []float64{.01, .1, 1, 10, 60, 600, 3600},
		}, []string{"job"}),
	}
	var err error
	if m.runs, err = register(reg, m.runs); err != nil {
		return nil, err
	}
	if m.failures, err = register(reg, m.failures); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) observe(job string, d time.Duration) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(job).Inc()
	m.duration.WithLabelValues(job).Observe(d.Seconds())
}

func (m *metrics) fail(job string) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(job).Inc()
}
