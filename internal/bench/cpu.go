package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is where the machine's CPU time had gone at one moment: this
// process's (user and system) and all cores' busy time. Two samples
// around a timed window tell what its wall time bought: the benchmark
// process's own work, everything else's (the private PostgreSQL and
// Redis, and whatever else the machine runs), and cores left idle —
// which a ratio alone cannot tell apart.
type cpuSample struct {
	at         time.Time
	self, busy time.Duration
	// services is the CPU time of this process's descendants: the
	// private PostgreSQL (its backends) and Redis the benchmark started.
	services time.Duration
	ok       bool
}

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s
	}
	s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return s
	}
	var ticks int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is counted in user already
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s
		}
		ticks += n
	}
	s.busy, s.ok = time.Duration(ticks)*time.Second/userHZ, true
	s.services = descendantsCPU(os.Getpid())
	return s
}

// descendantsCPU sums the user and system time of pid's descendants
// still running, from /proc.
func descendantsCPU(pid int) time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	for _, e := range entries {
		id, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces: fields after it
		// are counted from its closing parenthesis.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		procs[id] = proc{ppid: ppid, ticks: utime + stime}
	}
	var ticks int64
	for _, p := range procs {
		for up := p.ppid; up > 1; up = procs[up].ppid {
			if up == pid {
				ticks += p.ticks
				break
			}
			if _, ok := procs[up]; !ok {
				break
			}
		}
	}
	return time.Duration(ticks) * time.Second / userHZ
}

// cpuFields reports the window between a and b of wall time elapsed:
// this process's CPU seconds, its PostgreSQL's and Redis's, the rest of
// the machine's (those included), and the cores' idle seconds (all in
// core-seconds; /proc counts in 10 ms ticks).
func cpuFields(a, b cpuSample, elapsed time.Duration) map[string]any {
	if !a.ok || !b.ok {
		return nil
	}
	self := b.self - a.self
	busy := b.busy - a.busy
	idle := time.Duration(runtime.NumCPU())*elapsed - busy
	return map[string]any{
		"cpu_self_seconds":     round3(self.Seconds()),
		"cpu_services_seconds": round3(max(b.services-a.services, 0).Seconds()),
		"cpu_other_seconds":    round3(max(busy-self, 0).Seconds()),
		"cpu_idle_seconds":     round3(max(idle, 0).Seconds()),
	}
}
