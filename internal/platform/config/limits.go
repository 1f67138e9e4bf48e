package config

import (
	"fmt"
	"net/netip"
	"runtime"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/ratelimit"
)

// Limits bound the unauthenticated, expensive endpoints (login and register
// run bcrypt) of the user service.
type Limits struct {
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (BOOKSTORE_TRUSTED_PROXIES, CIDRs; default none: the peer is the client).
	TrustedProxies []netip.Prefix
	// LoginAccount counts failed logins per account (e-mail, case-insensitive).
	LoginAccount ratelimit.Rate
	// LoginClient counts login attempts per client address.
	LoginClient ratelimit.Rate
	// RegisterAccount counts registrations per e-mail.
	RegisterAccount ratelimit.Rate
	// RegisterClient counts registrations per client address.
	RegisterClient ratelimit.Rate
	// BcryptConcurrency bounds the bcrypt computations running at once
	// (default: the number of CPUs the process may use).
	BcryptConcurrency int
}

// loadLimits reads the BOOKSTORE_TRUSTED_PROXIES, BOOKSTORE_*_LIMIT_* and
// BOOKSTORE_BCRYPT_CONCURRENCY variables.
func loadLimits(get func(name, def string) string, bad func(string, error)) Limits {
	var l Limits
	var err error
	if l.TrustedProxies, err = httpx.ParsePrefixes(get("BOOKSTORE_TRUSTED_PROXIES", "")); err != nil {
		bad("BOOKSTORE_TRUSTED_PROXIES", err)
	}
	rates := []struct {
		name, def string
		dst       *ratelimit.Rate
	}{
		{"BOOKSTORE_LOGIN_LIMIT_ACCOUNT", "10/15m", &l.LoginAccount},
		{"BOOKSTORE_LOGIN_LIMIT_CLIENT", "60/1m", &l.LoginClient},
		{"BOOKSTORE_REGISTER_LIMIT_ACCOUNT", "5/15m", &l.RegisterAccount},
		{"BOOKSTORE_REGISTER_LIMIT_CLIENT", "60/1m", &l.RegisterClient},
	}
	for _, r := range rates {
		if *r.dst, err = ratelimit.ParseRate(get(r.name, r.def)); err != nil {
			bad(r.name, err)
		}
	}
	if l.BcryptConcurrency, err = positiveInt(get("BOOKSTORE_BCRYPT_CONCURRENCY", fmt.Sprint(runtime.GOMAXPROCS(0)))); err != nil {
		bad("BOOKSTORE_BCRYPT_CONCURRENCY", err)
	}
	return l
}
