package events

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of the event platform. Create them
// once per process (or per in-process service) with NewMetrics.
type Metrics struct {
	Consumed       *prometheus.CounterVec   // consumer, type, outcome
	DeadLettered   *prometheus.CounterVec   // consumer, topic
	HandlerRetries *prometheus.CounterVec   // consumer
	HandleSeconds  *prometheus.HistogramVec // consumer
	BatchSize      *prometheus.HistogramVec // consumer
	Published      *prometheus.CounterVec   // topic
	RelayErrors    prometheus.Counter
	RelayLag       prometheus.Histogram   // created_at -> acknowledged by Kafka
	RelayRows      *prometheus.CounterVec // via: notification, scan
	RelayScans     prometheus.Counter
}

// NewMetrics creates the collectors and registers them on reg (nil: not
// registered). Registering on a registry that already has them reuses the
// registered ones.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bookstore_events_consumed_total",
			Help: "Events consumed, by consumer, event type and outcome (processed, duplicate, ignored, dead_lettered).",
		}, []string{"consumer", "type", "outcome"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bookstore_events_dead_lettered_total",
			Help: "Events sent to the dead-letter topic, by consumer and source topic.",
		}, []string{"consumer", "topic"}),
		HandlerRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bookstore_events_handler_retries_total",
			Help: "Transient handler failures retried with backoff, by consumer.",
		}, []string{"consumer"}),
		HandleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bookstore_events_handle_seconds",
			Help:    "Time to apply one event or one batch of events (inbox + effects, one transaction), by consumer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"consumer"}),
		BatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bookstore_events_batch_size",
			Help:    "Events applied together in one transaction, by consumer.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}, []string{"consumer"}),
		Published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bookstore_outbox_published_total",
			Help: "Outbox rows published to Kafka and acknowledged, by topic.",
		}, []string{"topic"}),
		RelayErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bookstore_outbox_relay_errors_total",
			Help: "Outbox relay rounds that failed (database or Kafka) and were retried.",
		}),
		RelayLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bookstore_outbox_relay_lag_seconds",
			Help:    "Time from an outbox row's insert to Kafka's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		RelayRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bookstore_outbox_relay_rows_total",
			Help: "Outbox rows the relay produced, by how it got them: from the NOTIFY payload of their commit (notification) or by reading the table (scan: at start, on the fallback poll, for rows too large for a notification).",
		}, []string{"via"}),
		RelayScans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bookstore_outbox_relay_scans_total",
			Help: "Reads of the outbox table by the relay.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	register := func(c prometheus.Collector) (prometheus.Collector, error) {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return are.ExistingCollector, nil
			}
			return nil, err
		}
		return c, nil
	}
	var err error
	var c prometheus.Collector
	if c, err = register(m.Consumed); err != nil {
		return nil, err
	}
	m.Consumed = c.(*prometheus.CounterVec)
	if c, err = register(m.DeadLettered); err != nil {
		return nil, err
	}
	m.DeadLettered = c.(*prometheus.CounterVec)
	if c, err = register(m.HandlerRetries); err != nil {
		return nil, err
	}
	m.HandlerRetries = c.(*prometheus.CounterVec)
	if c, err = register(m.HandleSeconds); err != nil {
		return nil, err
	}
	m.HandleSeconds = c.(*prometheus.HistogramVec)
	if c, err = register(m.BatchSize); err != nil {
		return nil, err
	}
	m.BatchSize = c.(*prometheus.HistogramVec)
	if c, err = register(m.Published); err != nil {
		return nil, err
	}
	m.Published = c.(*prometheus.CounterVec)
	if c, err = register(m.RelayErrors); err != nil {
		return nil, err
	}
	m.RelayErrors = c.(prometheus.Counter)
	if c, err = register(m.RelayLag); err != nil {
		return nil, err
	}
	m.RelayLag = c.(prometheus.Histogram)
	if c, err = register(m.RelayRows); err != nil {
		return nil, err
	}
	m.RelayRows = c.(*prometheus.CounterVec)
	if c, err = register(m.RelayScans); err != nil {
		return nil, err
	}
	m.RelayScans = c.(prometheus.Counter)
	return m, nil
}

// knownTypes are the event types a metric label may name.
var knownTypes = map[string]bool{
	TypeUserLoggedOut: true, TypeOrderCreated: true, TypeOrderCompleted: true, TypeOrderFailed: true,
	TypeStockReserved: true, TypeStockRejected: true, TypeStockReleased: true,
	TypePaymentSucceeded: true, TypePaymentRejected: true, TypePaymentRefunded: true,
	"undecodable": true,
}

// typeLabel bounds the type label: a message with a made-up type (anyone who
// can produce to a topic controls it) counts as "other", so it adds no series.
func typeLabel(typ string) string {
	if knownTypes[typ] {
		return typ
	}
	return "other"
}
