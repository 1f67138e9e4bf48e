package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

func TestNewRoundTrip(t *testing.T) {
	in := events.OrderCreated{OrderID: "o1", UserID: "u1", Items: []events.OrderItem{{BookID: "b1", Price: 20, Quantity: 2}}, TotalPrice: 40}
	env, err := events.New(events.TypeOrderCreated, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]any
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "type", "occurredAt", "data"} {
		if _, ok := wire[k]; !ok {
			t.Errorf("envelope JSON lacks %q: %s", k, b)
		}
	}
	got, err := events.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var out events.OrderCreated
	if err := got.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if got.ID != env.ID || got.Type != events.TypeOrderCreated || out.TotalPrice != 40 || len(out.Items) != 1 || out.Items[0].Quantity != 2 {
		t.Errorf("round trip changed the event: %+v %+v", got, out)
	}
	other, _ := events.New(events.TypeOrderCreated, in)
	if other.ID == env.ID {
		t.Error("two events got the same id")
	}
}

func TestParseRejectsPoison(t *testing.T) {
	for name, value := range map[string]string{
		"not json":     "\x00\x01garbage",
		"json array":   `[1,2,3]`,
		"missing id":   `{"type":"OrderCreated","data":{}}`,
		"missing type": `{"id":"x","data":{}}`,
		"empty":        ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := events.Parse([]byte(value))
			if err == nil || !events.IsPermanent(err) {
				t.Fatalf("Parse(%q) = %v, want a permanent error", value, err)
			}
		})
	}
}

func TestDecodeMalformedDataIsPermanent(t *testing.T) {
	env := events.Envelope{ID: "x", Type: events.TypeOrderCreated, Data: json.RawMessage(`{"totalPrice":"lots"}`)}
	var v events.OrderCreated
	if err := env.Decode(&v); !events.IsPermanent(err) {
		t.Fatalf("Decode = %v, want permanent", err)
	}
}

func TestIsPermanent(t *testing.T) {
	base := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"marked", events.Permanent(base), true},
		{"marked and wrapped", fmt.Errorf("ctx: %w", events.Permanent(base)), true},
		{"check violation", &pgconn.PgError{Code: "23514"}, true},
		{"invalid text", fmt.Errorf("x: %w", &pgconn.PgError{Code: "22P02"}), true},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := events.IsPermanent(tc.err); got != tc.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if events.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	if !errors.Is(events.Permanent(base), base) {
		t.Error("Permanent hides the cause from errors.Is")
	}
}
