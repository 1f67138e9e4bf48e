package app

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The request path's Redis client fails fast unless the URL says otherwise.
func TestFailFastKeepsWhatTheURLSets(t *testing.T) {
	for _, tt := range []struct {
		url         string
		retries     int
		dialTimeout time.Duration
	}{
		{"redis://127.0.0.1:6379/0", 1, time.Second},
		{"redis://127.0.0.1:6379/0?max_retries=5&dial_timeout=3s", 5, 3 * time.Second},
		{"redis://127.0.0.1:6379/0?max_retries=-1", -1, time.Second}, // -1: no retries at all
	} {
		o, err := redis.ParseURL(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		o = failFast(o)
		if o.MaxRetries != tt.retries || o.DialTimeout != tt.dialTimeout || o.DialerRetries != 1 || o.MaxRetryBackoff != 50*time.Millisecond {
			t.Errorf("%s: retries %d, dial timeout %s, dialer retries %d, backoff %s", tt.url, o.MaxRetries, o.DialTimeout, o.DialerRetries, o.MaxRetryBackoff)
		}
	}
}
