package app

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// failFast tunes the Redis client for the request path: every authenticated
// request asks Redis (the revocation check, the login limits) and fails
// closed when it cannot, so a Redis that is down must turn into a 503 at
// once, not after go-redis's defaults of 4 attempts of 5 dials each (1.7 s
// per command against a refused port, seen here; a request with two Redis
// commands waited 3.4 s for its 503). One retry on a fresh connection, after
// at most 50 ms, still covers a pooled connection that a Redis restart
// closed. Values set in BOOKSTORE_REDIS_URL (max_retries, dial_timeout, ...)
// are kept.
func failFast(o *redis.Options) *redis.Options {
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.MaxRetryBackoff == 0 {
		o.MaxRetryBackoff = 50 * time.Millisecond
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	return o
}
