package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

// Topics names every topic one Bookstore installation uses. Production uses
// DefaultTopics; tests give each run its own prefix so that runs sharing a
// broker never see each other's events.
type Topics struct {
	// Prefix is the common prefix of the names ("" in production); it
	// also prefixes consumer group ids.
	Prefix      string
	Users       string
	Orders      string
	Completed   string
	Payments    string
	Inventory   string
	Books       string
	DeadLetters string
}

// DefaultTopics are the topic names of docs/events.md.
func DefaultTopics() Topics { return TopicsWithPrefix("") }

// TopicsWithPrefix returns the default names, each prefixed by prefix
// (e.g. "t123." gives "t123.bookstore.orders").
func TopicsWithPrefix(prefix string) Topics {
	return Topics{
		Prefix:      prefix,
		Users:       prefix + TopicUsers,
		Orders:      prefix + TopicOrders,
		Completed:   prefix + TopicOrdersCompleted,
		Payments:    prefix + TopicPayments,
		Inventory:   prefix + TopicInventory,
		Books:       prefix + TopicBooks,
		DeadLetters: prefix + TopicDeadLetters,
	}
}

// ClientConfig returns the librdkafka settings every Bookstore client shares:
// bootstrap servers and the optional TLS/SASL settings.
func ClientConfig(k config.Kafka) (kafka.ConfigMap, error) {
	if len(k.Brokers) == 0 {
		return nil, errors.New("events: no Kafka brokers configured")
	}
	m := kafka.ConfigMap{
		"bootstrap.servers": strings.Join(k.Brokers, ","),
		// librdkafka's own log lines (errors only) go to slog, not stderr.
		"go.logs.channel.enable": true,
		"log_level":              3,
		// Prefer IPv4 for "localhost" style addresses.
		"broker.address.family": "v4",
	}
	if k.SecurityProtocol != "" {
		m["security.protocol"] = k.SecurityProtocol
	}
	if k.SASLMechanism != "" {
		m["sasl.mechanisms"] = k.SASLMechanism
	}
	if k.SASLUsername != "" {
		m["sasl.username"] = k.SASLUsername
		m["sasl.password"] = k.SASLPassword
	}
	return m, nil
}

func merge(base kafka.ConfigMap, extra kafka.ConfigMap) *kafka.ConfigMap {
	out := kafka.ConfigMap{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return &out
}

// EnsureTopics creates the given topics with the configured partitions and
// replication if they do not exist yet. It is idempotent and safe to call
// from several replicas at once. Broker-side auto creation is off, so every
// service ensures the topics it produces to before it starts its relay.
func (p *Producer) EnsureTopics(ctx context.Context, k config.Kafka, topics ...string) error {
	admin, err := kafka.NewAdminClientFromProducer(p.p)
	if err != nil {
		return fmt.Errorf("events: admin client: %w", err)
	}
	defer admin.Close()
	return ensureTopics(ctx, admin, k, topics)
}

func ensureTopics(ctx context.Context, admin *kafka.AdminClient, k config.Kafka, topics []string) error {
	partitions, replication := k.TopicPartitions, k.TopicReplication
	if partitions <= 0 {
		partitions = 1
	}
	if replication <= 0 {
		replication = 1
	}
	seen := map[string]bool{}
	var specs []kafka.TopicSpecification
	for _, t := range topics {
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		specs = append(specs, kafka.TopicSpecification{
			Topic:             t,
			NumPartitions:     partitions,
			ReplicationFactor: replication,
		})
	}
	if len(specs) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	res, err := admin.CreateTopics(ctx, specs, kafka.SetAdminOperationTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("events: create topics: %w", err)
	}
	var errs []error
	for _, r := range res {
		switch r.Error.Code() {
		case kafka.ErrNoError, kafka.ErrTopicAlreadyExists:
		default:
			errs = append(errs, fmt.Errorf("topic %s: %w", r.Topic, r.Error))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("events: create topics: %w", errors.Join(errs...))
	}
	// Creation is asynchronous on the brokers: wait until every topic has
	// leaders so the first produce does not fail with unknown topic.
	for {
		md, err := admin.GetMetadata(nil, true, 5000)
		if err == nil {
			ready := true
			for _, s := range specs {
				tm, ok := md.Topics[s.Topic]
				if !ok || tm.Error.Code() != kafka.ErrNoError || len(tm.Partitions) == 0 {
					ready = false
					break
				}
				for _, pm := range tm.Partitions {
					if pm.Leader < 0 {
						ready = false
					}
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("events: wait for topics: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func toHeaders(h map[string]string) []kafka.Header {
	if len(h) == 0 {
		return nil
	}
	out := make([]kafka.Header, 0, len(h))
	for k, v := range h {
		out = append(out, kafka.Header{Key: k, Value: []byte(v)})
	}
	return out
}

func topicOf(m *kafka.Message) string {
	if m.TopicPartition.Topic == nil {
		return ""
	}
	return *m.TopicPartition.Topic
}

// forwardLogs writes librdkafka's log lines to log until the client closes
// the channel. Read it we must: librdkafka blocks when it is full.
func forwardLogs(ch chan kafka.LogEvent, log *slog.Logger) {
	for e := range ch {
		log.Warn("librdkafka", "client", e.Name, "tag", e.Tag, "level", e.Level, "msg", e.Message)
	}
}
