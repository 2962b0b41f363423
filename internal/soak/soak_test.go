package soak_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 19: the chaos soak, small and short, with a fixed seed, in the
// README's test command. Two web nodes, two workers, one remote Roost on
// its own database, the slow and flaky receivers and Toxiproxy; faults
// every few seconds. It checks the invariants only (nothing acknowledged
// lost, no error a retry could not repeat, no harness failure), never a
// timing: `roost soak` itself exits non-zero and prints the violations
// when one fails. It lives in its own package, apart from cmd/roost's
// tests, so that the suite runs it beside them rather than after them.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of chaos under load")
	}
	bin := filepath.Join(t.TempDir(), "roost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/roost-social/roost/cmd/roost").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "soak", "--duration", "60s", "--seed", "19",
		"--tenants", "4", "--accounts", "3", "--nodes", "2", "--workers", "2", "--remotes", "1",
		"--rate", "8", "--fault-every", "6s", "--drain", "3m")
	for _, kv := range os.Environ() { // the soak's settings only
		if !strings.HasPrefix(kv, "ROOST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res struct {
		Bench         string         `json:"bench"`
		Ops           int            `json:"ops"`
		Acknowledged  int            `json:"acknowledged"`
		Lost          int            `json:"lost"`
		ErrorsOther   int            `json:"errors_other"`
		Faults        map[string]int `json:"faults"`
		HarnessErrors []string       `json:"harness_errors"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.Bench != "soak" {
		t.Fatalf("exit %d, no result line (%v):\n%s\n%s", code, err, stdout.String(), tail(stderr.String(), 8000))
	}
	t.Logf("%s", lines[len(lines)-1])
	// The soak's notes (what it had to do as an operator would, what it
	// counted but does not require) are worth reading on a pass too.
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "soak: note:") || strings.HasPrefix(l, "soak: fault:") {
			t.Log(l)
		}
	}
	if code != 0 || res.Lost != 0 || res.ErrorsOther != 0 || len(res.HarnessErrors) > 0 {
		t.Fatalf("exit %d: %d lost, %d other errors, harness errors %q:\n%s", code, res.Lost, res.ErrorsOther, res.HarnessErrors, tail(stderr.String(), 12000))
	}
	if res.Acknowledged < 100 {
		t.Fatalf("only %d operations acknowledged; the soak proved little:\n%s", res.Acknowledged, tail(stderr.String(), 4000))
	}
	faults := 0
	for _, n := range res.Faults {
		faults += n
	}
	if faults < 3 {
		t.Fatalf("only %d faults injected: %v", faults, res.Faults)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
