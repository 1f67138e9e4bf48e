package httpx

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PreferWait reads the wait preference of RFC 7240 (`Prefer: wait=10`,
// possibly among others, in any number of Prefer headers): how many whole
// seconds the client is willing to wait for the request's processing to
// finish. A preference is a hint, so a malformed value counts as absent and
// a longer one is capped at max; ok is false when there is none.
func PreferWait(r *http.Request, max time.Duration) (d time.Duration, ok bool) {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			name, value, _ := strings.Cut(strings.SplitN(pref, ";", 2)[0], "=")
			if !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			secs, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(value), `"`), 10, 32)
			if err != nil {
				return 0, false
			}
			return min(time.Duration(secs)*time.Second, max), true
		}
	}
	return 0, false
}

// PreferenceApplied tells the client that the wait preference was honoured,
// for d (RFC 7240, section 3).
func PreferenceApplied(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Preference-Applied", "wait="+strconv.FormatInt(int64(d/time.Second), 10))
}
