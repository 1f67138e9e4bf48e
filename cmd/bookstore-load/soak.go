package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bookstore-platform/bookstore/internal/loadgen"
)

// procSample is what a service's /metrics says of its process.
type procSample struct {
	rss        float64 // process_resident_memory_bytes
	goroutines float64 // go_goroutines
	err        error
}

// sampleMetrics reads RSS and goroutines from each label=URL/metrics.
func sampleMetrics(ctx context.Context, targets []string) map[string]procSample {
	out := map[string]procSample{}
	for _, t := range targets {
		label, url, _ := strings.Cut(t, "=")
		out[label] = scrape(ctx, url+"/metrics")
	}
	return out
}

func scrape(ctx context.Context, url string) procSample {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return procSample{err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return procSample{err: err}
	}
	defer resp.Body.Close()
	var s procSample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			s.rss, _ = strconv.ParseFloat(val, 64)
		case "go_goroutines":
			s.goroutines, _ = strconv.ParseFloat(val, 64)
		}
	}
	s.err = sc.Err()
	return s
}

// soak measures the maximum (flat out for o.Duration), then runs at half of
// it for o.Soak in one-minute phases, and reports per minute the orders,
// errors and p99, and per process RSS and goroutines at start and end.
// It fails when any order failed with an error.
func soak(ctx context.Context, a *loadgen.Client, f *loadgen.Fixture, o options, log *slog.Logger, out io.Writer) error {
	log.Info("soak: measuring the maximum", "for", o.Duration)
	top := runPhase(ctx, a, f, o, "maximum", 0, o.Duration)
	rate := max(1, top.completedPerSec()/2)
	fine := o
	fine.PollMax = o.Poll
	start := sampleMetrics(ctx, o.Metrics)
	fmt.Fprintf(out, "\n== soak at %.1f orders/s (half of the measured %.1f) for %s\n", rate, top.completedPerSec(), o.Soak)
	fmt.Fprintf(out, "| minute | completed | failed | errors | p50 | p99 |\n|---|---|---|---|---|---|\n")
	errs := 0
	var p99s []time.Duration
	for i := 1; time.Duration(i-1)*time.Minute < o.Soak && ctx.Err() == nil; i++ {
		p := runPhase(ctx, a, f, fine, fmt.Sprintf("minute %d", i), rate, min(time.Minute, o.Soak-time.Duration(i-1)*time.Minute))
		var lat []time.Duration
		for _, r := range p.results {
			if r.err == nil {
				lat = append(lat, r.latency)
			}
		}
		slices.Sort(lat)
		p99 := percentile(lat, .99)
		p99s = append(p99s, p99)
		errs += p.errors
		fmt.Fprintf(out, "| %d | %d | %d | %d | %.1fms | %.1fms |\n", i, p.completed, p.failed, p.errors,
			float64(percentile(lat, .5).Microseconds())/1000, float64(p99.Microseconds())/1000)
		if p.firstErr != nil {
			log.Warn("soak: errors this minute", "first", p.firstErr)
		}
	}
	end := sampleMetrics(ctx, o.Metrics)
	fmt.Fprintf(out, "\n| process | RSS start | RSS end | goroutines start | goroutines end |\n|---|---|---|---|---|\n")
	for _, t := range o.Metrics {
		label, _, _ := strings.Cut(t, "=")
		s, e := start[label], end[label]
		if s.err != nil || e.err != nil {
			fmt.Fprintf(out, "| %s | metrics unavailable: %v %v | | | |\n", label, s.err, e.err)
			continue
		}
		fmt.Fprintf(out, "| %s | %.1f MiB | %.1f MiB | %.0f | %.0f |\n", label, s.rss/(1<<20), e.rss/(1<<20), s.goroutines, e.goroutines)
	}
	if len(p99s) > 0 {
		lo, hi := slices.Min(p99s), slices.Max(p99s)
		fmt.Fprintf(out, "\np99 per minute: min %.1fms, max %.1fms; errors: %d\n", float64(lo.Microseconds())/1000, float64(hi.Microseconds())/1000, errs)
	}
	if errs > 0 {
		return fmt.Errorf("soak: %d orders ended in an error", errs)
	}
	return nil
}
