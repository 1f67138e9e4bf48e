package events_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// FuzzEnvelope: Parse and Decode into every payload of the contract (and
// its Validate) never panic, and every error they return is permanent, so
// the consumer dead-letters the message instead of retrying it forever.
func FuzzEnvelope(f *testing.F) {
	id := uuid.NewString()
	for _, p := range []struct {
		typ  string
		data any
	}{
		{events.TypeOrderCreated, events.OrderCreated{OrderID: id, UserID: id, TotalPrice: 1, Items: []events.OrderItem{{BookID: id, Price: 1, Quantity: 1}}}},
		{events.TypeOrderFailed, events.OrderFailed{OrderID: id, Reasons: []string{"x"}}},
		{events.TypePaymentSucceeded, events.PaymentSucceeded{OrderID: id}},
		{events.TypeStockReleased, events.StockReleased{OrderID: id}},
		{events.TypeUserLoggedOut, events.UserLoggedOut{JTI: "j"}},
	} {
		env, err := events.New(p.typ, p.data)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := env.Marshal()
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "[]", `{"id":"a","type":"b"}`, `{"id":"a","type":"b","data":1}`, `{"id":"a","type":"b","occurredAt":"x"}`,
		`{"id":"a","type":"OrderCreated","data":{"items":[{"quantity":-1}]}}`, `{"id":1}`, "\xff"} {
		f.Add([]byte(s))
	}
	payloads := []func() any{
		func() any { return &events.OrderCreated{} }, func() any { return &events.OrderFailed{} }, func() any { return &events.OrderCompleted{} },
		func() any { return &events.StockReserved{} }, func() any { return &events.StockRejected{} }, func() any { return &events.StockReleased{} },
		func() any { return &events.PaymentSucceeded{} }, func() any { return &events.PaymentRejected{} }, func() any { return &events.PaymentRefunded{} },
		func() any { return &events.UserLoggedOut{} }, func() any { return &events.BookChanged{} },
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		env, err := events.Parse(value)
		if err != nil {
			if !events.IsPermanent(err) {
				t.Fatalf("Parse: transient error %v", err)
			}
			return
		}
		if env.ID == "" || env.Type == "" {
			t.Fatalf("Parse accepted %q without id or type", value)
		}
		for _, newPayload := range payloads {
			v := newPayload()
			if err := env.Decode(v); err != nil {
				if !events.IsPermanent(err) {
					t.Fatalf("Decode %T: transient error %v", v, err)
				}
				continue
			}
			if val, ok := v.(events.Validator); ok {
				_ = val.Validate()
			}
		}
	})
}
