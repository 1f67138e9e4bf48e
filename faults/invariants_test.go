//go:build faults

package faults

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// finalBound is how long after a fault is healed every accepted order must
// be Completed or Failed.
const finalBound = 60 * time.Second

// settleBound is how long after that the compensations of Failed orders
// may take to land (the invariants are checked until they hold or it ends).
const settleBound = 20 * time.Second

// waitFinal waits (up to finalBound) until no order is Pending and returns
// how many were Pending when it started.
func (s *stack) waitFinal(ctx context.Context) (int, error) {
	deadline := time.Now().Add(finalBound)
	first := -1
	for {
		var pending int
		err := s.dbs["order"].QueryRow(ctx, `SELECT count(*) FROM orders WHERE status = 'Pending'`).Scan(&pending)
		if err == nil {
			if first < 0 {
				first = pending
			}
			if pending == 0 {
				return first, nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return first, fmt.Errorf("orders still Pending %s after the fault was healed: %w", finalBound, err)
			}
			return first, fmt.Errorf("%d orders still Pending %s after the fault was healed", pending, finalBound)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type orderRow struct {
	status string
	total  int64
	items  map[string]int64 // book → quantity
}

// checkInvariants returns every broken invariant (none: nil): accepted
// orders all exist and are final; per order the token ledger nets to the
// total for Completed and to 0 otherwise, and the stock ledger to −quantity
// per book for Completed and to 0 otherwise; balances + completed totals =
// top-ups; stock + sold = initial; no duplicate ledger rows; the
// dead-letter topic is empty.
func (s *stack) checkInvariants(ctx context.Context, accepted []string, initial map[string]int64) []string {
	var bad []string
	fail := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	orders := map[string]*orderRow{}
	rows, err := s.dbs["order"].Query(ctx, `SELECT o.id::text, o.status, o.total_price, i.book_id::text, i.quantity
		FROM orders o JOIN order_items i ON i.order_id = o.id`)
	if err != nil {
		return []string{fmt.Sprintf("read orders: %v", err)}
	}
	for rows.Next() {
		var id, status, book string
		var total, qty int64
		if err := rows.Scan(&id, &status, &total, &book, &qty); err != nil {
			return []string{fmt.Sprintf("scan orders: %v", err)}
		}
		o := orders[id]
		if o == nil {
			o = &orderRow{status: status, total: total, items: map[string]int64{}}
			orders[id] = o
		}
		o.items[book] += qty
	}
	if rows.Err() != nil {
		return []string{fmt.Sprintf("read orders: %v", rows.Err())}
	}
	for _, id := range accepted {
		switch o := orders[id]; {
		case o == nil:
			fail("accepted order %s is missing", id)
		case o.status != "Completed" && o.status != "Failed":
			fail("accepted order %s is %s", id, o.status)
		}
	}
	if n := len(orders) - len(accepted); n != 0 {
		fail("%d orders exist, %d were accepted", len(orders), len(accepted))
	}

	net := map[string]int64{}
	if err := scanPairs(ctx, s, "token", `SELECT order_id::text, sum(CASE kind WHEN 'charge' THEN amount ELSE -amount END)
		FROM token_ledger WHERE order_id IS NOT NULL GROUP BY order_id`, func(id string, v int64) { net[id] = v }); err != nil {
		return append(bad, err.Error())
	}
	stock := map[string]int64{} // order|book → net delta
	if err := scanPairs(ctx, s, "inventory", `SELECT order_id::text || '|' || book_id::text, sum(delta)
		FROM stock_ledger WHERE order_id IS NOT NULL GROUP BY order_id, book_id`, func(k string, v int64) { stock[k] = v }); err != nil {
		return append(bad, err.Error())
	}
	sold := map[string]int64{}
	var completedTotal int64
	for id, o := range orders {
		want := int64(0)
		if o.status == "Completed" {
			want = o.total
			completedTotal += o.total
		}
		if net[id] != want {
			fail("order %s (%s, total %d): token ledger nets %d", id, o.status, o.total, net[id])
		}
		delete(net, id)
		for book, qty := range o.items {
			w := int64(0)
			if o.status == "Completed" {
				w = -qty
				sold[book] += qty
			}
			if got := stock[id+"|"+book]; got != w {
				fail("order %s (%s) book %s ×%d: stock ledger nets %d", id, o.status, book, qty, got)
			}
			delete(stock, id+"|"+book)
		}
	}
	for id, v := range net {
		fail("token ledger rows (net %d) for unknown order %s", v, id)
	}
	for k, v := range stock {
		fail("stock ledger rows (net %d) for unknown order|book %s", v, k)
	}

	var balances, topups int64
	if err := s.dbs["token"].QueryRow(ctx, `SELECT (SELECT coalesce(sum(balance), 0) FROM balances),
		(SELECT coalesce(sum(amount), 0) FROM token_ledger WHERE kind = 'add')`).Scan(&balances, &topups); err != nil {
		return append(bad, fmt.Sprintf("read balances: %v", err))
	}
	if balances+completedTotal != topups {
		fail("balances %d + completed totals %d = %d, top-ups %d", balances, completedTotal, balances+completedTotal, topups)
	}
	amounts := map[string]int64{}
	if err := scanPairs(ctx, s, "inventory", `SELECT id::text, amount FROM books`, func(id string, v int64) { amounts[id] = v }); err != nil {
		return append(bad, err.Error())
	}
	for book, init := range initial {
		if amounts[book]+sold[book] != init {
			fail("book %s: stock %d + sold %d ≠ initial %d", book, amounts[book], sold[book], init)
		}
	}
	for svc, q := range map[string]string{
		"token":     `SELECT count(*) FROM (SELECT 1 FROM token_ledger WHERE order_id IS NOT NULL GROUP BY order_id, kind HAVING count(*) > 1) d`,
		"inventory": `SELECT count(*) FROM (SELECT 1 FROM stock_ledger WHERE order_id IS NOT NULL GROUP BY order_id, book_id, kind HAVING count(*) > 1) d`,
	} {
		var dups int
		if err := s.dbs[svc].QueryRow(ctx, q).Scan(&dups); err != nil || dups > 0 {
			fail("%s: %d duplicate ledger rows (%v)", svc, dups, err)
		}
	}
	if n, err := s.deadLetters(); err != nil || n > 0 {
		fail("dead-letter topic %s holds %d events (%v)", events.TopicDeadLetters, n, err)
	}
	return bad
}

func scanPairs(ctx context.Context, s *stack, svc, q string, f func(string, int64)) error {
	rows, err := s.dbs[svc].Query(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", svc, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		f(k, v)
	}
	return rows.Err()
}

// deadLetters counts the events in the dead-letter topic (high − low
// watermark over its partitions; 0 when the topic does not exist).
func (s *stack) deadLetters() (int64, error) {
	// As the super user of hack/servers.sh (no service may read the dead letters).
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": s.kafka, "group.id": "faults-harness", "log_level": 0,
		"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-512",
		"sasl.username": os.Getenv("BOOKSTORE_TEST_KAFKA_SASL_USERNAME"), "sasl.password": os.Getenv("BOOKSTORE_TEST_KAFKA_SASL_PASSWORD")})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	topic := events.TopicDeadLetters
	md, err := c.GetMetadata(&topic, false, 10000)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range md.Topics[topic].Partitions {
		lo, hi, err := c.QueryWatermarkOffsets(topic, p.ID, 10000)
		if err != nil {
			return 0, err
		}
		n += hi - lo
	}
	return n, nil
}
