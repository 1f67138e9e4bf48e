package httpx_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

func TestPreferWait(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		want    time.Duration
		ok      bool
	}{
		{"absent", nil, 0, false},
		{"seconds", []string{"wait=10"}, 10 * time.Second, true},
		{"among others", []string{"respond-async, wait=5"}, 5 * time.Second, true},
		{"case and spaces", []string{"return=minimal", " Wait = 3 ;x=y"}, 3 * time.Second, true},
		{"quoted", []string{`wait="7"`}, 7 * time.Second, true},
		{"zero", []string{"wait=0"}, 0, true},
		{"capped", []string{"wait=3600"}, 30 * time.Second, true},
		{"negative", []string{"wait=-1"}, 0, false},
		{"duration syntax is not seconds", []string{"wait=10s"}, 0, false},
		{"other preference only", []string{"respond-async"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			for _, h := range tt.headers {
				r.Header.Add("Prefer", h)
			}
			got, ok := httpx.PreferWait(r, 30*time.Second)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("PreferWait(%q) = %s, %v; want %s, %v", tt.headers, got, ok, tt.want, tt.ok)
			}
		})
	}
	w := httptest.NewRecorder()
	httpx.PreferenceApplied(w, 5*time.Second)
	if got := w.Header().Get("Preference-Applied"); got != "wait=5" {
		t.Fatalf("Preference-Applied = %q", got)
	}
}
