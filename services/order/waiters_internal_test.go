package order

import (
	"testing"
	"time"
)

// The notification of a decision carries the order's new state, so the
// woken long poll needs no second read; an id alone (or anything else)
// means "read it again".
func TestParseFinal(t *testing.T) {
	at := time.Date(2026, 12, 1, 13, 47, 47, 699104000, time.UTC)
	tests := []struct {
		name, payload, wantID string
		want                  *finalState
	}{
		{"state", `{"id" : "o1", "status" : "Failed", "updatedAt" : "2026-12-01T13:47:47.699104+00:00", "failReason" : "out of stock",
			"isPaymentProcessed" : true, "isInventoryProcessed" : true}`, "o1",
			&finalState{ID: "o1", Status: StatusFailed, UpdatedAt: at, FailReason: "out of stock", IsPaymentProcessed: true, IsInventoryProcessed: true}},
		{"id only", "0193", "0193", nil},
		{"not final", `{"id": "o1", "status": "Pending"}`, `{"id": "o1", "status": "Pending"}`, nil},
		{"broken json", `{"id": `, `{"id": `, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, st := parseFinal(tc.payload)
			if id != tc.wantID || (st == nil) != (tc.want == nil) {
				t.Fatalf("parseFinal = %q, %+v; want %q, %+v", id, st, tc.wantID, tc.want)
			}
			if st != nil && (st.ID != tc.want.ID || st.Status != tc.want.Status || !st.UpdatedAt.Equal(tc.want.UpdatedAt) ||
				st.FailReason != tc.want.FailReason || st.IsPaymentProcessed != tc.want.IsPaymentProcessed ||
				st.IsInventoryProcessed != tc.want.IsInventoryProcessed) {
				t.Fatalf("state %+v, want %+v", st, tc.want)
			}
			if st != nil {
				o := st.apply(Order{ID: "o1", Status: StatusPending, TotalPrice: 3})
				if o.Status != tc.want.Status || !o.UpdatedAt.Equal(at) || o.TotalPrice != 3 || !o.IsPaymentProcessed {
					t.Fatalf("applied %+v", o)
				}
			}
		})
	}
}
