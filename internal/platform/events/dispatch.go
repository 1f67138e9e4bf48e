package events

import (
	"log/slog"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// partition names one topic partition.
type partition struct {
	topic string
	num   int32
}

func partitionOf(tp kafka.TopicPartition) partition {
	p := partition{num: tp.Partition}
	if tp.Topic != nil {
		p.topic = *tp.Topic
	}
	return p
}

func (p partition) topicPartition() kafka.TopicPartition {
	topic := p.topic
	return kafka.TopicPartition{Topic: &topic, Partition: p.num}
}

// dispatcher hands polled messages to the workers without ever blocking the
// poll loop: a worker that retries a transient failure (its database or
// Redis is down) may hold its queue for minutes, but the loop must go on
// calling Poll, or librdkafka leaves the group after max.poll.interval.ms
// and every partition of this consumer stops. When a worker's queue is
// full, the message is held and its partition paused (nothing more is
// fetched for it); held messages are handed over, in order, as the queue
// drains, and then the partition is resumed. It is used from the poll loop
// only (rebalance callbacks run inside Poll), so it needs no lock.
type dispatcher struct {
	kc     *kafka.Consumer
	log    *slog.Logger
	queues []chan *kafka.Message
	held   map[partition][]*kafka.Message
}

func (d *dispatcher) queue(p partition) chan *kafka.Message {
	return d.queues[int(p.num)%len(d.queues)]
}

// dispatch queues msg for its partition's worker, or holds it.
func (d *dispatcher) dispatch(msg *kafka.Message) {
	p := partitionOf(msg.TopicPartition)
	if held, ok := d.held[p]; ok {
		d.held[p] = append(held, msg) // fetched before the pause took effect
		return
	}
	select {
	case d.queue(p) <- msg:
	default:
		d.held[p] = []*kafka.Message{msg}
		if err := d.kc.Pause([]kafka.TopicPartition{p.topicPartition()}); err != nil {
			d.log.Warn("pause partition", "topic", p.topic, "partition", p.num, "err", err)
		}
		d.log.Debug("worker busy, partition paused", "topic", p.topic, "partition", p.num)
	}
}

// flush hands held messages to their workers while there is room and
// resumes each partition whose held messages are all handed over.
func (d *dispatcher) flush() {
	for p, held := range d.held {
		q := d.queue(p)
		n := 0
	room:
		for n < len(held) {
			select {
			case q <- held[n]:
				n++
			default:
				break room
			}
		}
		if n < len(held) {
			d.held[p] = held[n:]
			continue
		}
		delete(d.held, p)
		if err := d.kc.Resume([]kafka.TopicPartition{p.topicPartition()}); err != nil {
			d.log.Warn("resume partition", "topic", p.topic, "partition", p.num, "err", err)
		}
		d.log.Debug("partition resumed", "topic", p.topic, "partition", p.num)
	}
}

// rebalanced is the consumer's rebalance callback: the held messages of a
// revoked partition are dropped (not stored, so its next owner, maybe this
// consumer again, gets them from the committed offset, in order). The
// assignment itself is left to the library.
func (d *dispatcher) rebalanced(_ *kafka.Consumer, ev kafka.Event) error {
	if rev, ok := ev.(kafka.RevokedPartitions); ok {
		for _, tp := range rev.Partitions {
			delete(d.held, partitionOf(tp))
		}
	}
	return nil
}
