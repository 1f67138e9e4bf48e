package auth

import (
	"strings"
	"sync"
	"time"
)

// DefaultTokenCacheSize bounds how many verified tokens one process keeps.
const DefaultTokenCacheSize = 10000

// TokenCache remembers tokens whose signature and claims were verified, so
// that a token presented again (every request of a session carries the same
// one) is verified once per process. Entries are keyed by the token's
// signature, hold the whole token (a hit must match it byte for byte) and
// are used only until the token's exp; revocation is still checked on every
// request by the Authenticator.
type TokenCache struct {
	verify func(raw string) (Principal, error)
	max    int
	now    func() time.Time
	mu     sync.Mutex
	byKey  map[string]Principal
}

// NewTokenCache caches the principals verify returns, at most max of them.
func NewTokenCache(verify func(raw string) (Principal, error), max int) *TokenCache {
	if max <= 0 {
		max = DefaultTokenCacheSize
	}
	return &TokenCache{verify: verify, max: max, now: time.Now, byKey: map[string]Principal{}}
}

// Verify returns the principal of raw: from the cache if raw was verified
// before and has not expired, else from verify (errors are not cached).
func (c *TokenCache) Verify(raw string) (Principal, error) {
	key := raw[strings.LastIndexByte(raw, '.')+1:]
	now := c.now()
	c.mu.Lock()
	p, ok := c.byKey[key]
	c.mu.Unlock()
	if ok && p.Token == raw && now.Before(p.ExpiresAt) {
		return p, nil
	}
	p, err := c.verify(raw)
	if err != nil {
		return Principal{}, err
	}
	if key == "" || !now.Before(p.ExpiresAt) {
		return p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byKey) >= c.max {
		c.evict(now)
	}
	c.byKey[key] = p
	return p, nil
}

// evict drops expired entries, and if that frees nothing, an arbitrary
// tenth of the cache (Go's map order).
func (c *TokenCache) evict(now time.Time) {
	for k, p := range c.byKey {
		if !now.Before(p.ExpiresAt) {
			delete(c.byKey, k)
		}
	}
	for k := range c.byKey {
		if len(c.byKey) < c.max-c.max/10 {
			break
		}
		delete(c.byKey, k)
	}
}

// Len is the number of cached tokens.
func (c *TokenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}
