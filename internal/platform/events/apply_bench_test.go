package events

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
)

// BenchmarkConsumerApplyBatch is a consumer's transaction on a real
// PostgreSQL: the inbox insert of a batch, a saga step per event (an UPDATE
// of one of 50 rows and the enqueue of the outcome) and one commit with
// fsync. ns/op is per event, so batch sizes compare: the commit is shared.
func BenchmarkConsumerApplyBatch(b *testing.B) {
	ctx := context.Background()
	pool := migratedPool(b)
	if _, err := pool.Exec(ctx, `
		CREATE TABLE bench_accounts (id int PRIMARY KEY, balance bigint NOT NULL);
		INSERT INTO bench_accounts SELECT g, 1000000000 FROM generate_series(0, 49) g`); err != nil {
		b.Fatal(err)
	}
	step := On(func(ctx context.Context, tx pgx.Tx, ev PaymentSucceeded) error {
		var n int
		if err := tx.QueryRow(ctx, `UPDATE bench_accounts SET balance = balance - $2 WHERE id = $1 RETURNING 1`,
			int(ev.Amount%50), ev.Amount).Scan(&n); err != nil {
			return fmt.Errorf("step: %w", err)
		}
		return Emit(ctx, tx, "bench.outcomes", ev.OrderID, TypeStockReserved, StockReserved{OrderID: ev.OrderID})
	})
	c := &Consumer{db: pool, log: slog.New(slog.DiscardHandler), opts: ConsumerOptions{Name: "bench"}}
	topic := "bench.orders"
	for _, size := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			seq := 0
			items := make([]item, size)
			for b.Loop() {
				for i := range items {
					seq++
					env, err := New(TypePaymentSucceeded, PaymentSucceeded{
						OrderID: fmt.Sprintf("0193a3c4-7e55-7000-8000-%012d", seq), UserID: "0193a3c4-7e55-7000-8000-000000000002", Amount: int64(seq)})
					if err != nil {
						b.Fatal(err)
					}
					items[i] = item{msg: &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic}}, env: env, h: step}
				}
				dups, err := c.commit(ctx, items)
				if err != nil {
					b.Fatal(err)
				}
				for _, d := range dups {
					if d {
						b.Fatal("a fresh event was taken for a duplicate")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/event")
		})
	}
}
