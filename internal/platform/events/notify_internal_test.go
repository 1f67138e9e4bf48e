package events

import (
	"strings"
	"testing"
	"time"
)

func TestNotePayloadRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		headers string
		inNote  bool
	}{
		{"small event", []byte(`{"id":"e1","type":"OrderCreated"}`), `{"traceparent":"00-1"}`, true},
		{"binary payload", []byte{0, 0xff, 0xfe, '"', '\n'}, `{}`, true},
		{"too large for NOTIFY", []byte(strings.Repeat("x", 6000)), `{}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, err := notePayload("bookstore.orders", "order-1", c.payload, []byte(c.headers))
			if err != nil {
				t.Fatal(err)
			}
			if (body != "") != c.inNote {
				t.Fatalf("carried in the notification: %v, want %v", body != "", c.inNote)
			}
			if !c.inNote {
				if _, err := parseNote(""); err == nil {
					t.Fatal("an empty notification parsed as a row")
				}
				return
			}
			if len(body)+40 >= 8000 {
				t.Fatalf("notification of %d bytes: PostgreSQL refuses 8000 or more", len(body)+40)
			}
			at := time.UnixMicro(1764600000123456)
			row, err := parseNote("42 1764600000123456 " + body)
			if err != nil {
				t.Fatal(err)
			}
			if row.id != 42 || row.topic != "bookstore.orders" || row.key != "order-1" || string(row.payload) != string(c.payload) || !row.createdAt.Equal(at) {
				t.Fatalf("row %+v", row)
			}
			if c.headers != `{}` && row.headers["traceparent"] != "00-1" {
				t.Fatalf("headers %v", row.headers)
			}
		})
	}
	for _, bad := range []string{"", "42", "42 x {}", "x 1 {}", "42 1 {", "42 1 {\"h\":[1]}"} {
		if _, err := parseNote(bad); err == nil {
			t.Errorf("parseNote(%q) accepted", bad)
		}
	}
}

func TestSettledRingForgetsTheOldest(t *testing.T) {
	r := newSettledRing(3)
	for id := int64(1); id <= 5; id++ {
		r.add(id)
	}
	r.add(5) // already there: no eviction
	for id, want := range map[int64]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if r.has(id) != want {
			t.Errorf("has(%d) = %v, want %v", id, !want, want)
		}
	}
}
