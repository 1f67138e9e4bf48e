package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

// Producer is the idempotent Kafka producer a service uses for its outbox
// relay and its dead letters. It is safe for concurrent use.
type Producer struct {
	p   *kafka.Producer
	log *slog.Logger
	// done stops the event drain goroutine.
	done chan struct{}
}

// NewProducer returns an idempotent producer (acks=all, ordered retries)
// tuned for low latency.
func NewProducer(k config.Kafka, log *slog.Logger) (*Producer, error) {
	base, err := ClientConfig(k)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	p, err := kafka.NewProducer(merge(base, kafka.ConfigMap{
		"enable.idempotence": true, // implies acks=all, max.in.flight<=5, ordered retries
		"acks":               "all",
		"linger.ms":          1,
		"compression.type":   "lz4",
		// A message not acknowledged within this time is reported failed;
		// the relay then retries the row (consumers deduplicate).
		"message.timeout.ms": 30000,
	}))
	if err != nil {
		return nil, fmt.Errorf("events: new producer: %w", err)
	}
	pr := &Producer{p: p, log: log, done: make(chan struct{})}
	go pr.drain()
	go forwardLogs(p.Logs(), log)
	return pr, nil
}

// drain consumes the producer's default event channel: errors (e.g. all
// brokers down) and any delivery report without its own channel.
func (p *Producer) drain() {
	for {
		select {
		case <-p.done:
			return
		case ev, ok := <-p.p.Events():
			if !ok {
				return
			}
			switch e := ev.(type) {
			case kafka.Error:
				if e.IsFatal() {
					p.log.Error("kafka producer fatal error", "err", e)
				} else {
					p.log.Debug("kafka producer error", "err", e)
				}
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					p.log.Warn("kafka delivery failed", "topic", topicOf(e), "err", e.TopicPartition.Error)
				}
			}
		}
	}
}

// Close flushes outstanding messages for up to timeout and closes the
// producer.
func (p *Producer) Close(timeout time.Duration) {
	p.p.Flush(int(timeout.Milliseconds()))
	close(p.done)
	p.p.Close()
}

// produce enqueues msg, waiting while librdkafka's local queue is full.
func (p *Producer) produce(ctx context.Context, msg *kafka.Message, report chan kafka.Event) error {
	for {
		err := p.p.Produce(msg, report)
		if err == nil {
			return nil
		}
		var ke kafka.Error
		if errors.As(err, &ke) && ke.Code() == kafka.ErrQueueFull {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
				continue
			}
		}
		return fmt.Errorf("events: produce to %s: %w", topicOf(msg), err)
	}
}

// Publish sends one message and waits for the broker's acknowledgement.
func (p *Producer) Publish(ctx context.Context, topic, key string, value []byte, headers map[string]string) error {
	report := make(chan kafka.Event, 1)
	msg := &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(key),
		Value:          value,
		Headers:        toHeaders(headers),
	}
	if err := p.produce(ctx, msg, report); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case ev := <-report:
		m, ok := ev.(*kafka.Message)
		if !ok {
			return fmt.Errorf("events: unexpected delivery event %v", ev)
		}
		if m.TopicPartition.Error != nil {
			return fmt.Errorf("events: deliver to %s: %w", topic, m.TopicPartition.Error)
		}
		return nil
	}
}

// PublishEvent publishes env directly, bypassing the outbox. Only for tools
// and tests: services publish through Enqueue so that events and state
// changes commit together.
func (p *Producer) PublishEvent(ctx context.Context, topic, key string, env Envelope) error {
	b, err := env.Marshal()
	if err != nil {
		return err
	}
	return p.Publish(ctx, topic, key, b, nil)
}

// Ready reports whether the cluster answers a metadata request in time:
// the readiness check of every service.
func (p *Producer) Ready(ctx context.Context) error {
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("kafka: %w", context.DeadlineExceeded)
	}
	md, err := p.p.GetMetadata(nil, false, int(timeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("kafka: metadata: %w", err)
	}
	if len(md.Brokers) == 0 {
		return errors.New("kafka: no brokers in metadata")
	}
	if err := p.p.GetFatalError(); err != nil {
		return fmt.Errorf("kafka: producer fatal error: %w", err)
	}
	return nil
}
