package events

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with jitter: Next returns Min, then
// twice the previous delay up to Max, each spread by ±10 % (so it may
// exceed Max by a tenth) so that replicas do not retry in lockstep. The
// consumer, the relay and the event bus retry with it.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// NewBackoff returns a backoff from min to max.
func NewBackoff(min, max time.Duration) *Backoff { return &Backoff{Min: min, Max: max} }

// Next returns the delay before the next attempt.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	spread := int64(b.cur) / 5 // the jitter's full width: ±10 %
	if spread <= 0 {
		return b.cur
	}
	return b.cur + time.Duration(rand.Int64N(spread+1)-spread/2)
}

// Reset starts the sequence again at Min (after a success).
func (b *Backoff) Reset() { b.cur = 0 }

// Sleep waits d or until ctx is done; it reports whether the full time
// elapsed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
