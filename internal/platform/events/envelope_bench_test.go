package events_test

import (
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// BenchmarkEnvelope is the per-event encoding work of the saga: a service
// builds and marshals each event it enqueues, and every consumer parses the
// envelope and decodes its data.
func BenchmarkEnvelope(b *testing.B) {
	created := events.OrderCreated{
		OrderID: "0193a3c4-7e55-7000-8000-000000000001", UserID: "0193a3c4-7e55-7000-8000-000000000002",
		Items:      []events.OrderItem{{BookID: "0193a3c4-7e55-7000-8000-000000000003", Price: 20, Quantity: 2}},
		TotalPrice: 40,
	}
	wire, err := mustEnvelope(b, created).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := mustEnvelope(b, created).Marshal(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			env, err := events.Parse(wire)
			if err != nil {
				b.Fatal(err)
			}
			var got events.OrderCreated
			if err := env.Decode(&got); err != nil {
				b.Fatal(err)
			}
			if got.TotalPrice != created.TotalPrice {
				b.Fatalf("decoded %+v", got)
			}
		}
	})
}

func mustEnvelope(b *testing.B, data any) events.Envelope {
	env, err := events.New(events.TypeOrderCreated, data)
	if err != nil {
		b.Fatal(err)
	}
	return env
}
