package interop

import (
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	gtsHost   = "gts.test"
	roostHost = "roost.test"
)

// peers is one Roost and one GoToSocial, and the people on each.
type peers struct {
	gts   *gotosocial
	roost *roostNode
	// On GoToSocial: alice, lock (locked), mover (moves to dora on Roost),
	// dest (where max moves).
	alice, lock, mover, dest *person
	// On Roost: bob, carol (locked), dora, max (moves to dest), erin.
	bob, carol, dora, max, erin *person

	mu     sync.Mutex
	passed map[string]bool
	order  []string
	// ids[p][acct or uri] is what p's server calls a remote account or post.
	ids map[*person]map[string]string
}

// startPeers runs both servers and signs everyone in.
func startPeers(t *testing.T) *peers {
	t.Helper()
	needNamespaces(t)
	began := time.Now()
	gtsIP, roostIP := loopbackPair(t)
	dir := t.TempDir()
	ca := newCA(t, dir)
	hosts := hostsFile(t, dir, map[string]string{gtsHost: gtsIP, roostHost: roostIP})
	p := &peers{passed: map[string]bool{}, ids: map[*person]map[string]string{}}

	p.gts = startGoToSocial(t, gtsHost, gtsIP, ca, hosts)
	// GoToSocial boots and gets its accounts (seconds per admin command)
	// while Roost is built and started.
	gtsRoots := x509.NewCertPool()
	gtsRoots.AddCert(ca.cert)
	gtsDone := make(chan struct{})
	t.Cleanup(func() { <-gtsDone }) // should the Roost side fail first
	go func() {
		defer close(gtsDone)
		p.gts.prepare(t, webClient(map[string]string{gtsHost: gtsIP}, gtsRoots), "alice", "lock", "mover", "dest")
	}()
	p.roost = newRoost(t, roostHost, roostIP, gtsHost+"=https://"+gtsIP+":443", ca.pemFile)
	for _, u := range []string{"bob", "carol", "dora", "max", "erin"} {
		p.roost.createAccount(t, u)
	}
	p.roost.start(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- what Roost recorded as failed ----\n%s", p.roost.failures(t))
		}
	})
	roostCA := p.roost.waitReady(t)
	t.Logf("setup: Roost answers after %s", time.Since(began).Round(time.Millisecond))
	<-gtsDone
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("setup: GoToSocial answers, with its accounts, after %s", time.Since(began).Round(time.Millisecond))
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	roots.AppendCertsFromPEM(roostCA)
	hc := webClient(map[string]string{gtsHost: gtsIP, roostHost: roostIP}, roots)
	people := map[string]**person{"alice": &p.alice, "lock": &p.lock, "mover": &p.mover, "dest": &p.dest,
		"bob": &p.bob, "carol": &p.carol, "dora": &p.dora, "max": &p.max, "erin": &p.erin}
	for name, dst := range people {
		if strings.Contains("alice lock mover dest", name) {
			*dst = signIn(t, hc, gtsHost, name, gtsPassword)
			// GoToSocial's accounts start locked; Roost's do not. The
			// locked-account steps lock theirs themselves.
			if err := (*dst).call("PATCH", "/api/v1/accounts/update_credentials", url.Values{"locked": {"false"}}, nil); err != nil {
				t.Fatal(err)
			}
		} else {
			*dst = signIn(t, hc, roostHost, name, roostPassword)
		}
	}
	t.Logf("setup: 9 people signed in after %s", time.Since(began).Round(time.Millisecond))
	return p
}

// step runs one interop step as a subtest, after the steps it needs; a
// step whose prerequisite failed fails at once, saying which.
func (p *peers) step(t *testing.T, name string, needs []string, f func(t *testing.T)) {
	t.Helper()
	ok := t.Run(name, func(t *testing.T) {
		for _, n := range needs {
			if !p.ok(n) {
				t.Fatalf("not attempted: needs step %q, which did not pass", n)
			}
		}
		f(t)
	})
	p.mu.Lock()
	p.passed[name] = ok
	p.order = append(p.order, name)
	p.mu.Unlock()
}

func (p *peers) ok(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.passed[name]
}

// remember records what who's server calls key (an acct or a post URI).
func (p *peers) remember(who *person, key, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids[who] == nil {
		p.ids[who] = map[string]string{}
	}
	p.ids[who][key] = id
}

// idOf is what who's server calls key, looking an account up when it is
// not known yet.
func (p *peers) idOf(t *testing.T, who *person, key string) string {
	t.Helper()
	p.mu.Lock()
	id := p.ids[who][key]
	p.mu.Unlock()
	if id != "" {
		return id
	}
	if strings.Contains(key, "://") {
		t.Fatalf("%s's server has no id for %s yet", who.acct, key)
	}
	id, err := who.lookup(key)
	if err != nil {
		t.Fatalf("looking up %s as %s: %v", key, who.acct, err)
	}
	p.remember(who, key, id)
	return id
}

// summary logs every step with its outcome: the interop figures.
func (p *peers) summary(t *testing.T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	n := 0
	for _, s := range p.order {
		mark := "FAIL"
		if p.passed[s] {
			mark, n = "pass", n+1
		}
		fmt.Fprintf(&b, "\n  %s  %s", mark, s)
	}
	t.Logf("GoToSocial interop: %d of %d steps pass%s", n, len(p.order), b.String())
	if os.Getenv("ROOST_INTEROP_SUMMARY") != "" {
		os.WriteFile(os.Getenv("ROOST_INTEROP_SUMMARY"), []byte(b.String()+"\n"), 0o644)
	}
}

// nonce makes each run's texts unique.
func nonce() string { return fmt.Sprint(time.Now().UnixNano() % 1e9) }
