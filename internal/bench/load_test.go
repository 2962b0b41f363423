package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	w.domains = append(w.domains, "t0.load.test", "t1.load.test", "t2.load.test", "t3.load.test")
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
		if json.Unmarshal(q.inbox.body, &act) != nil || act.Type != "Create" || act.Actor != senderActor {
			t.Fatalf("inbox body: %s", q.inbox.body)
		}
	}
	for _, m := range LoadMix {
		if n := kinds[m.Kind]; n < m.Share*400/100/2 || n > m.Share*400/100*2 {
			t.Errorf("%d %s requests of 400, want about %d%%", n, m.Kind, m.Share)
		}
	}
	if len(domains) != 4 {
		t.Errorf("requests spread over %d domains, want 4", len(domains))
	}
}
