// Package observability holds a service's Prometheus metrics: HTTP request
// counts and latency histograms by route template and status, Go/process
// collectors and pgx pool statistics, on a registry of its own (so several
// services can live in one test process).
package observability

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the metric set of one service. Register extra collectors on
// Registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns the metrics of service with Go and process collectors
// registered. Every series carries the constant label service.
func New(service string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := prometheus.Labels{"service": service}
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "bookstore_http_requests_total",
			Help:        "HTTP requests served, by method, route template and status code.",
			ConstLabels: labels,
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "bookstore_http_request_duration_seconds",
			Help:        "HTTP request latency, by method, route template and status code.",
			ConstLabels: labels,
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// ObserveHTTP records one finished request (httpx.Observer).
func (m *Metrics) ObserveHTTP(method, route string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.duration.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// RegisterPool exports the statistics of pool.
func (m *Metrics) RegisterPool(pool *pgxpool.Pool) error {
	return m.Registry.Register(&poolCollector{pool: pool})
}

type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolAcquired     = prometheus.NewDesc("bookstore_db_pool_acquired_conns", "Connections currently in use.", nil, nil)
	poolIdle         = prometheus.NewDesc("bookstore_db_pool_idle_conns", "Idle connections.", nil, nil)
	poolTotal        = prometheus.NewDesc("bookstore_db_pool_total_conns", "Open connections.", nil, nil)
	poolMax          = prometheus.NewDesc("bookstore_db_pool_max_conns", "Maximum pool size.", nil, nil)
	poolAcquires     = prometheus.NewDesc("bookstore_db_pool_acquires_total", "Successful acquires.", nil, nil)
	poolEmptyAcq     = prometheus.NewDesc("bookstore_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", nil, nil)
	poolCanceledAcq  = prometheus.NewDesc("bookstore_db_pool_canceled_acquires_total", "Acquires canceled by their context.", nil, nil)
	poolAcquireWait  = prometheus.NewDesc("bookstore_db_pool_acquire_seconds_total", "Total time spent acquiring connections.", nil, nil)
	poolNewConns     = prometheus.NewDesc("bookstore_db_pool_new_conns_total", "Connections opened.", nil, nil)
	poolDestroyedIdl = prometheus.NewDesc("bookstore_db_pool_max_idle_destroyed_total", "Connections closed for being idle too long.", nil, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolEmptyAcq, poolCanceledAcq, poolAcquireWait, poolNewConns, poolDestroyedIdl} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolEmptyAcq, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolCanceledAcq, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcquireWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolNewConns, prometheus.CounterValue, float64(s.NewConnsCount()))
	ch <- prometheus.MustNewConstMetric(poolDestroyedIdl, prometheus.CounterValue, float64(s.MaxIdleDestroyCount()))
}
