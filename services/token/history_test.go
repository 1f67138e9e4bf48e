package token_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/bookstore-platform/bookstore/services/token"
)

func TestHistoryPagesNewestFirstAndOnlyOwn(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, tok := f.user(t)
	_, other := f.user(t)
	for _, amount := range []int{1, 2, 3, 4, 5} {
		f.srv.Post(t, "/api/tokens/add", tok, map[string]int{"amount": amount}).Expect(t, http.StatusOK)
	}
	f.srv.Post(t, "/api/tokens/add", other, map[string]int{"amount": 99}).Expect(t, http.StatusOK)

	var got []int64
	path := "/api/tokens/history?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var h token.History
		f.srv.Get(t, path, tok).Expect(t, http.StatusOK).JSON(t, &h)
		for _, e := range h.Items {
			if e.Kind != "add" || e.OrderID != nil {
				t.Errorf("entry %+v, want a top-up without order", e)
			}
			got = append(got, e.Amount)
		}
		if h.NextCursor == nil {
			break
		}
		path = "/api/tokens/history?limit=2&cursor=" + *h.NextCursor
	}
	if fmt.Sprint(got) != "[5 4 3 2 1]" {
		t.Errorf("amounts %v, want [5 4 3 2 1] (newest first, only the caller's)", got)
	}

	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/api/tokens/history", "", http.StatusUnauthorized},
		{"bad limit", "/api/tokens/history?limit=0", tok, http.StatusBadRequest},
		{"bad cursor", "/api/tokens/history?cursor=not*a*cursor", tok, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.srv.Get(t, tc.path, tc.token).Expect(t, tc.want)
		})
	}
}
