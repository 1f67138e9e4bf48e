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

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
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

// ObserveHTTP records one finished request (httpx.Observer). The method is
// bounded again here (httpx.MethodLabel) and status codes outside 100..599
// count as "other", so no caller can grow the series without limit; route
// must be a router template or "unmatched" (httpx.Stack passes only those).
func (m *Metrics) ObserveHTTP(method, route string, status int, d time.Duration) {
	method = httpx.MethodLabel(method)
	s := "other"
	if status >= 100 && status <= 599 {
		s = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(method, route, s).Inc()
	m.duration.WithLabelValues(method, route, s).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// RegisterPool exports the statistics of pool.
func (m *Metrics) RegisterPool(pool *pgxpool.Pool) error {
	return m.Registry.Register(newPoolCollector(pool))
}

// poolCollector exports pgxpool.Stat as metrics.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs []*prometheus.Desc
	// value of each desc, in the same order.
	values []func(*pgxpool.Stat) (prometheus.ValueType, float64)
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	c := &poolCollector{pool: pool}
	gauge := func(f func(*pgxpool.Stat) float64) func(*pgxpool.Stat) (prometheus.ValueType, float64) {
		return func(s *pgxpool.Stat) (prometheus.ValueType, float64) { return prometheus.GaugeValue, f(s) }
	}
	counter := func(f func(*pgxpool.Stat) float64) func(*pgxpool.Stat) (prometheus.ValueType, float64) {
		return func(s *pgxpool.Stat) (prometheus.ValueType, float64) { return prometheus.CounterValue, f(s) }
	}
	add := func(name, help string, v func(*pgxpool.Stat) (prometheus.ValueType, float64)) {
		c.descs = append(c.descs, prometheus.NewDesc(name, help, nil, nil))
		c.values = append(c.values, v)
	}
	add("bookstore_db_pool_acquired_conns", "Connections currently in use.", gauge(func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }))
	add("bookstore_db_pool_idle_conns", "Idle connections.", gauge(func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }))
	add("bookstore_db_pool_total_conns", "Open connections.", gauge(func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }))
	add("bookstore_db_pool_max_conns", "Maximum pool size.", gauge(func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }))
	add("bookstore_db_pool_acquires_total", "Successful acquires.", counter(func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }))
	add("bookstore_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", counter(func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }))
	add("bookstore_db_pool_canceled_acquires_total", "Acquires canceled by their context.", counter(func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }))
	add("bookstore_db_pool_acquire_seconds_total", "Total time spent acquiring connections.", counter(func(s *pgxpool.Stat) float64 { return s.AcquireDuration().Seconds() }))
	add("bookstore_db_pool_new_conns_total", "Connections opened.", counter(func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }))
	add("bookstore_db_pool_max_idle_destroyed_total", "Connections closed for being idle too long.", counter(func(s *pgxpool.Stat) float64 { return float64(s.MaxIdleDestroyCount()) }))
	return c
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	for i, d := range c.descs {
		t, v := c.values[i](s)
		ch <- prometheus.MustNewConstMetric(d, t, v)
	}
}
