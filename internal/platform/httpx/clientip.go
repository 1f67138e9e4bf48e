package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// CodeTooManyRequests is the error code of a 429.
const CodeTooManyRequests = "too_many_requests"

// TooManyRequests sets Retry-After (whole seconds, at least 1) and returns
// the 429 error to write.
func TooManyRequests(w http.ResponseWriter, retryAfter time.Duration, msg string) *Error {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return E(http.StatusTooManyRequests, CodeTooManyRequests, msg)
}

// ParsePrefixes parses a comma-separated list of CIDRs or single addresses
// ("10.0.0.0/8, 127.0.0.1").
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func trustedAddr(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the address of the client of r: the connection's peer, unless
// the peer is one of the trusted proxies; then X-Forwarded-For is read from
// the right (the entries proxies appended) and the first address that is not
// a trusted proxy is the client. A client-sent X-Forwarded-For therefore
// counts only behind a trusted proxy, and only its rightmost untrusted entry.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	client := peer.Unmap()
	if !trustedAddr(client, trusted) {
		return client
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client // a malformed hop: stop at the last proxy we trust
		}
		client = a.Unmap()
		if !trustedAddr(client, trusted) {
			return client
		}
	}
	return client
}
