package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// procGroup is a labelled process tree (e.g. "postgres" = the postmaster and
// every backend it forked) whose CPU time the load tool samples.
type procGroup struct {
	Label string
	PID   int
}

// parseProcs parses "label=pid,label=pid" (the -cpu-pids flag).
func parseProcs(s string) ([]procGroup, error) {
	var out []procGroup
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		label, pid, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(pid)
		if !ok || label == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("-cpu-pids: %q is not label=pid", f)
		}
		out = append(out, procGroup{Label: label, PID: n})
	}
	return out, nil
}

type procStat struct {
	ppid int
	cpu  int64 // utime+stime of the process itself, ticks
	dead int64 // cutime+cstime: children that exited and were reaped, ticks
}

// readStat parses /proc/<pid>/stat (fields after the parenthesised name).
func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return procStat{}, false
	}
	num := func(k int) int64 { n, _ := strconv.ParseInt(f[k], 10, 64); return n }
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
	return procStat{ppid: int(num(1)), cpu: num(11) + num(12), dead: num(13) + num(14)}, true
}

// cpuSample is the CPU time (ticks) of every group, plus the whole machine's
// busy and steal time from /proc/stat.
type cpuSample struct {
	at      time.Time
	groups  map[string]int64
	machine int64
	steal   int64
}

// sampleCPU sums, for each group, the CPU of its root, of the root's reaped
// children and of every live descendant.
func sampleCPU(groups []procGroup) cpuSample {
	s := cpuSample{at: time.Now(), groups: map[string]int64{}}
	s.machine, s.steal = machineBusy()
	if len(groups) == 0 {
		return s
	}
	stats := map[int]procStat{}
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			stats[pid] = st
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	for _, g := range groups {
		root, ok := stats[g.PID]
		if !ok {
			continue
		}
		total := root.cpu + root.dead
		queue := append([]int(nil), children[g.PID]...)
		for len(queue) > 0 {
			pid := queue[0]
			queue = queue[1:]
			total += stats[pid].cpu
			queue = append(queue, children[pid]...)
		}
		s.groups[g.Label] += total
	}
	return s
}

// machineBusy is the non-idle time of all CPUs from /proc/stat, in ticks,
// and the steal time: what the hypervisor ran elsewhere while this machine's
// vCPUs wanted to run (a noisy neighbour, not counted as busy).
func machineBusy() (busy, steal int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case i == 3 || i == 4: // idle, iowait
		case i == 7:
			steal = n
		case i > 7: // guest times are already in user/nice
			return busy, steal
		default:
			busy += n
		}
	}
	return busy, steal
}

// cpuReport prints the CPU per completed order of each group between two
// samples, the sum over the groups, and the whole machine for comparison.
func cpuReport(w io.Writer, from, to cpuSample, completed int) (perOrder float64) {
	if completed == 0 {
		return 0
	}
	ms := func(ticks int64) float64 { return float64(ticks) * 1000 / clockTicks / float64(completed) }
	labels := make([]string, 0, len(to.groups))
	for l := range to.groups {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool {
		return to.groups[labels[i]]-from.groups[labels[i]] > to.groups[labels[j]]-from.groups[labels[j]]
	})
	var sum int64
	var parts []string
	for _, l := range labels {
		d := to.groups[l] - from.groups[l]
		sum += d
		parts = append(parts, fmt.Sprintf("%s %.2f", l, ms(d)))
	}
	secs := to.at.Sub(from.at).Seconds()
	fmt.Fprintf(w, "CPU per completed order (ms, %d orders over %.1fs until drained): %s\n", completed, secs, strings.Join(parts, ", "))
	share := func(ticks int64) float64 { return 100 * float64(ticks) / clockTicks / secs / float64(numCPU()) }
	fmt.Fprintf(w, "CPU per completed order, sum of the stack's processes: %.2f ms (whole machine incl. other workloads: %.2f ms, %.0f%% of %d CPUs busy, %.0f%% stolen by the hypervisor)\n",
		ms(sum), ms(to.machine-from.machine), share(to.machine-from.machine), numCPU(), share(to.steal-from.steal))
	return ms(sum)
}

func numCPU() int { return runtime.NumCPU() }
