package events_test

import (
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// TestBackoff: delays double from Min up to Max, each within ±10 % of the
// nominal one, and Reset starts again at Min.
func TestBackoff(t *testing.T) {
	nominal := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for run := range 200 {
		b := events.NewBackoff(100*time.Millisecond, time.Second)
		for i, want := range nominal {
			want *= time.Millisecond
			got := b.Next()
			if lo, hi := want-want/10, want+want/10; got < lo || got > hi {
				t.Fatalf("run %d: delay %d = %s, want %s ±10 %%", run, i, got, want)
			}
		}
		b.Reset()
		if got := b.Next(); got < 90*time.Millisecond || got > 110*time.Millisecond {
			t.Fatalf("after Reset: %s, want 100ms ±10 %%", got)
		}
	}
}
