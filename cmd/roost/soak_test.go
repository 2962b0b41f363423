package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Issue 19: the chaos soak, small and short, with a fixed seed. Two web
// nodes, two workers, one remote Roost on its own database, the slow and
// flaky receivers and Toxiproxy; faults every few seconds. It checks the
// invariants only (nothing acknowledged lost, no error a retry could not
// repeat), never a timing: `roost soak` itself exits non-zero and prints
// the violations when one fails.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of chaos under load")
	}
	// Not yet in the default suite: it must first pass three times in a
	// row on the loaded machine. Session 8's runs ran beside a full-size
	// soak and failed from overload alone (requests answered 503 "busy"
	// for an app's whole 3-minute retry budget; a remote's delivery
	// circuit to the tenants still cooling down when the 2-minute drain
	// ended), after its findings 4, 6, 7 and 8 were fixed.
	// ROOST_SOAK=1 runs it.
	if os.Getenv("ROOST_SOAK") == "" {
		t.Skip("set ROOST_SOAK=1: the soak has open findings (issue 19)")
	}
	code, stdout, stderr := roost(t, nil, "soak", "--duration", "60s", "--seed", "19",
		"--tenants", "4", "--accounts", "3", "--nodes", "2", "--workers", "2", "--remotes", "1",
		"--rate", "8", "--fault-every", "6s", "--drain", "2m")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res struct {
		Bench        string         `json:"bench"`
		Ops          int            `json:"ops"`
		Acknowledged int            `json:"acknowledged"`
		Lost         int            `json:"lost"`
		ErrorsOther  int            `json:"errors_other"`
		Faults       map[string]int `json:"faults"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Bench != "soak" {
		t.Fatalf("exit %d, no result line (%v):\n%s\n%s", code, err, stdout, tail(stderr, 8000))
	}
	t.Logf("%s", lines[len(lines)-1])
	if code != 0 || res.Lost != 0 || res.ErrorsOther != 0 {
		t.Fatalf("exit %d: %d lost, %d other errors:\n%s", code, res.Lost, res.ErrorsOther, tail(stderr, 12000))
	}
	if res.Acknowledged < 100 {
		t.Fatalf("only %d operations acknowledged; the soak proved little:\n%s", res.Acknowledged, tail(stderr, 4000))
	}
	faults := 0
	for _, n := range res.Faults {
		faults += n
	}
	if faults < 3 {
		t.Fatalf("only %d faults injected: %v", faults, res.Faults)
	}
}
