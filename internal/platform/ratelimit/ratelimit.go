// Package ratelimit counts attempts per key in Redis, in fixed windows, so
// that a limit holds across every replica of a service. Keys are hashed
// before they reach Redis (no e-mail addresses or IPs stored in clear).
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// KeyPrefix prefixes every Redis key of the package.
const KeyPrefix = "bookstore:ratelimit:"

// Rate is N attempts per window Per; the zero Rate allows everything.
type Rate struct {
	N   int
	Per time.Duration
}

// Disabled reports whether r allows everything.
func (r Rate) Disabled() bool { return r.N <= 0 }

func (r Rate) String() string {
	if r.Disabled() {
		return "0"
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// ParseRate parses "N/duration" ("10/15m", "100/1m"); "0" or "off" disables.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "off" {
		return Rate{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n <= 0 {
		return Rate{}, fmt.Errorf("want N/duration (like 10/15m) or 0, got %q", s)
	}
	d, err := time.ParseDuration(ds)
	if err != nil || d < time.Second {
		return Rate{}, fmt.Errorf("window of %q must be a duration of at least 1s", s)
	}
	return Rate{N: n, Per: d}, nil
}

// take increments the window's counter, starting the window on the first
// attempt, and returns the count and the time left in the window.
var take = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`)

// give decrements the counter only while its window lasts.
var give = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0`)

// Limiter limits the attempts of one kind (its name) per key.
type Limiter struct {
	rdb  redis.Scripter
	name string
	rate Rate
}

// New returns a limiter of rate for attempts called name ("login-account").
func New(rdb redis.Scripter, name string, rate Rate) *Limiter {
	return &Limiter{rdb: rdb, name: name, rate: rate}
}

func (l *Limiter) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return KeyPrefix + l.name + ":" + hex.EncodeToString(sum[:16])
}

// Take counts one attempt for key. It returns 0 when the attempt is allowed,
// else how long until the window ends. An error means Redis could not
// answer; callers fail closed.
func (l *Limiter) Take(ctx context.Context, key string) (time.Duration, error) {
	if l == nil || l.rate.Disabled() {
		return 0, nil
	}
	res, err := take.Run(ctx, l.rdb, []string{l.key(key)}, l.rate.Per.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", l.name, err)
	}
	if len(res) != 2 {
		return 0, errors.New("rate limit: unexpected script reply")
	}
	if res[0] <= int64(l.rate.N) {
		return 0, nil
	}
	return max(time.Duration(res[1])*time.Millisecond, time.Millisecond), nil
}

// Give returns an attempt Take counted (a login that succeeded does not count
// against the account).
func (l *Limiter) Give(ctx context.Context, key string) error {
	if l == nil || l.rate.Disabled() {
		return nil
	}
	if err := give.Run(ctx, l.rdb, []string{l.key(key)}).Err(); err != nil {
		return fmt.Errorf("rate limit %s: %w", l.name, err)
	}
	return nil
}
