package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/bench"
)

// `roost bench load` end to end, small: it provisions PostgreSQL and Redis,
// seeds tenants, starts serve and work processes, sends the mix and
// prints its JSON line last. What is asserted is that every request of
// every kind was answered as expected, never how fast.
func TestBenchLoadCommand(t *testing.T) {
	t.Parallel()
	code, out, stderr := roost(t, nil, "bench", "load", "--tenants", "40", "--users", "4", "--nodes", "2",
		"--rate", "20", "--duration", "3s")
	if code != 0 {
		t.Fatalf("bench load: exit %d\n%s\n%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var run struct {
		Requests int            `json:"requests"`
		Errors   int            `json:"errors"`
		ByKind   map[string]int `json:"by_kind"`
	}
	var last map[string]any
	if len(lines) < 2 || json.Unmarshal([]byte(lines[len(lines)-2]), &run) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil {
		t.Fatalf("output:\n%s", out)
	}
	floor, _ := last["floor_p99_ms"].(float64) // issue 21: GET /healthz beside the run
	if last["bench"] != "load" || last["errors"] != float64(0) || last["rps"].(float64) <= 0 || floor <= 0 {
		t.Fatalf("last line: %v", last)
	}
	if run.Requests != 60 || run.Errors != 0 || len(run.ByKind) != len(bench.LoadMix) {
		t.Fatalf("run: %+v\n%s", run, out)
	}
}
