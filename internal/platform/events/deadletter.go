package events

import (
	"context"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Dead-letter headers added to the original message's headers.
const (
	HeaderDLQError     = "x-dlq-error"
	HeaderDLQConsumer  = "x-dlq-consumer"
	HeaderDLQTopic     = "x-dlq-topic"
	HeaderDLQPartition = "x-dlq-partition"
	HeaderDLQOffset    = "x-dlq-offset"
	HeaderDLQTime      = "x-dlq-time"
)

// deadLetter publishes msg unchanged to the dead-letter topic with the
// error in the headers, retrying until Kafka acknowledges it. typ is the
// event type, "" for a message that could not be decoded.
func (c *Consumer) deadLetter(ctx context.Context, msg *kafka.Message, typ string, cause error) error {
	headers := map[string]string{}
	for _, h := range msg.Headers {
		headers[h.Key] = string(h.Value)
	}
	headers[HeaderDLQError] = cause.Error()
	headers[HeaderDLQConsumer] = c.opts.Name
	headers[HeaderDLQTopic] = topicOf(msg)
	headers[HeaderDLQPartition] = strconv.Itoa(int(msg.TopicPartition.Partition))
	headers[HeaderDLQOffset] = msg.TopicPartition.Offset.String()
	headers[HeaderDLQTime] = time.Now().UTC().Format(time.RFC3339Nano)
	b := NewBackoff(100*time.Millisecond, c.opts.MaxBackoff)
	for {
		err := c.prod.Publish(ctx, c.opts.DeadLetterTopic, string(msg.Key), msg.Value, headers)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := b.Next()
		c.log.Warn("dead-letter publish failed, retrying", "err", err, "backoff", d)
		if !Sleep(ctx, d) {
			return ctx.Err()
		}
	}
	if typ == "" {
		typ = "undecodable"
	}
	c.m.DeadLettered.WithLabelValues(c.opts.Name, topicOf(msg)).Inc()
	c.m.Consumed.WithLabelValues(c.opts.Name, typeLabel(typ), "dead_lettered").Inc()
	c.log.Error("event dead-lettered", "type", typ, "topic", topicOf(msg),
		"partition", msg.TopicPartition.Partition, "offset", msg.TopicPartition.Offset, "err", cause)
	return nil
}
