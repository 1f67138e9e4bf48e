package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RevokedKeyPrefix prefixes the Redis key holding a revoked jti.
const RevokedKeyPrefix = "bookstore:revoked:"

// RedisRevocations stores revoked token ids in Redis, each until its token's
// expiry.
type RedisRevocations struct {
	client redis.Cmdable
	now    func() time.Time
}

// NewRedisRevocations returns a revocation store on client.
func NewRedisRevocations(client redis.Cmdable) *RedisRevocations {
	return &RedisRevocations{client: client, now: time.Now}
}

// Revoke records jti as revoked until expiresAt plus the verifiers' clock
// Leeway (a token is accepted that long after exp). A token past both needs
// no record.
func (s *RedisRevocations) Revoke(ctx context.Context, jti string, expiresAt time.Time) error {
	ttl := expiresAt.Add(Leeway).Sub(s.now())
	if ttl <= 0 {
		return nil
	}
	if err := s.client.Set(ctx, RevokedKeyPrefix+jti, "1", ttl).Err(); err != nil {
		return fmt.Errorf("revoke token %s: %w", jti, err)
	}
	return nil
}

// IsRevoked reports whether jti was revoked. An error means the answer is
// unknown; callers must fail closed.
func (s *RedisRevocations) IsRevoked(ctx context.Context, jti string) (bool, error) {
	err := s.client.Get(ctx, RevokedKeyPrefix+jti).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil):
		return false, nil
	default:
		return false, fmt.Errorf("check revocation of %s: %w", jti, err)
	}
}
