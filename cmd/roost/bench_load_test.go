package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
)

// The load generator's plan: every kind of the mix is drawn, across many
// tenant domains, and every inbox POST carries a signature the server's
// own checks accept for the Host it is sent to.
func TestBenchLoadPlan(t *testing.T) {
	t.Parallel()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	pub, _ := signature.ParsePublicKeyPEM(kp.PublicPEM)
	w := &loadWorld{sender: priv, users: []loadUser{{domain: "t0.load.test", token: "x"}}}
	for _, d := range []string{"t0.load.test", "t1.load.test", "t2.load.test", "t3.load.test"} {
		w.domains = append(w.domains, d)
	}
	reqs := w.plan(400)
	kinds, domains := map[string]int{}, map[string]bool{}
	for _, q := range reqs {
		kinds[q.kind]++
		domains[q.domain] = true
		if q.kind != "inbox" {
			continue
		}
		r, _ := http.NewRequest("POST", "http://127.0.0.1:1/inbox", bytes.NewReader(q.inbox.body))
		r.Host = q.domain
		r.Header = q.inbox.header.Clone()
		p, err := signature.Check(r, q.inbox.body, time.Now())
		if err == nil {
			err = signature.Verify(r, p, pub)
		}
		if err != nil {
			t.Fatalf("inbox POST for %s does not verify: %v", q.domain, err)
		}
		var act struct{ ID, Type, Actor string }
		if json.Unmarshal(q.inbox.body, &act) != nil || act.Type != "Create" || act.Actor != benchActor {
			t.Fatalf("inbox body: %s", q.inbox.body)
		}
	}
	for _, m := range loadMix {
		if n := kinds[m.kind]; n < m.share*400/100/2 || n > m.share*400/100*2 {
			t.Errorf("%d %s requests of 400, want about %d%%", n, m.kind, m.share)
		}
	}
	if len(domains) != 4 {
		t.Errorf("requests spread over %d domains, want 4", len(domains))
	}
}

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
	if last["bench"] != "load" || last["errors"] != float64(0) || last["rps"].(float64) <= 0 {
		t.Fatalf("last line: %v", last)
	}
	if run.Requests != 60 || run.Errors != 0 || len(run.ByKind) != len(loadMix) {
		t.Fatalf("run: %+v\n%s", run, out)
	}
}
