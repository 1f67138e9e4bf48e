package ratelimit_test

import (
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/ratelimit"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want ratelimit.Rate
		bad  bool
	}{
		{in: "10/15m", want: ratelimit.Rate{N: 10, Per: 15 * time.Minute}},
		{in: " 60/1m ", want: ratelimit.Rate{N: 60, Per: time.Minute}},
		{in: "0", want: ratelimit.Rate{}},
		{in: "off", want: ratelimit.Rate{}},
		{in: "10", bad: true},
		{in: "-1/1m", bad: true},
		{in: "5/10ms", bad: true},
		{in: "x/1m", bad: true},
	}
	for _, tt := range tests {
		got, err := ratelimit.ParseRate(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
