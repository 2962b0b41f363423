package fetch

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/signature"
)

// pickyInbox is a real receiver that verifies signatures and accepts only
// the schemes in accept, answering 401 otherwise; it counts the attempts
// it saw in each scheme.
type pickyInbox struct {
	mu       sync.Mutex
	accept   map[signature.Scheme]bool
	attempts map[signature.Scheme]int
}

func (p *pickyInbox) serve(pub *rsa.PublicKey) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodGet {
			body = nil
		}
		scheme := signature.Cavage
		if r.Header.Get("Signature-Input") != "" {
			scheme = signature.RFC9421
		}
		p.mu.Lock()
		p.attempts[scheme]++
		ok := p.accept[scheme]
		p.mu.Unlock()
		params, err := signature.Check(r, body, time.Now())
		if err == nil {
			err = signature.Verify(r, params, pub)
		}
		if err != nil || !ok {
			http.Error(w, "signature refused", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", asType)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "http://" + r.Host + r.URL.Path, "type": "Note"})
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

func (p *pickyInbox) set(accept ...signature.Scheme) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accept = map[signature.Scheme]bool{}
	for _, s := range accept {
		p.accept[s] = true
	}
	p.attempts = map[signature.Scheme]int{}
}

func (p *pickyInbox) seen() (cavage, rfc int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts[signature.Cavage], p.attempts[signature.RFC9421]
}

// TestIssue16RFC9421DoubleKnock: deliveries and signed GETs start in
// cavage with an unknown host, knock once more in RFC 9421 when refused,
// and remember per host what was accepted; a plain Signer is never
// retried, and a host refusing both is asked exactly twice.
func TestIssue16RFC9421DoubleKnock(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	modern, classic := &pickyInbox{}, &pickyInbox{}
	modern.set(signature.RFC9421)
	classic.set(signature.Cavage)
	c := newClient(t, Config{}, map[string]*peer{
		"modern.test":  newPeer(t, "127.0.0.2", false, modern.serve(&key.PublicKey)),
		"classic.test": newPeer(t, "127.0.0.3", false, classic.serve(&key.PublicKey)),
	})
	var used []signature.Scheme
	sign := Knocking(func(s signature.Scheme, r *http.Request, body []byte) error {
		used = append(used, s)
		return signature.SignWith(s, r, body, "http://roost.test/actor#main-key", key, time.Now())
	})
	ctx := context.Background()
	body := []byte(`{"id":"http://roost.test/activities/1","type":"Follow"}`)
	post := func(host string) int {
		t.Helper()
		status, err := c.Post(ctx, "http://"+host+"/inbox", body, sign)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	want := func(p *pickyInbox, cavage, rfc int) {
		t.Helper()
		if gc, gr := p.seen(); gc != cavage || gr != rfc {
			t.Fatalf("receiver saw %d cavage and %d RFC 9421 attempts, want %d and %d", gc, gr, cavage, rfc)
		}
	}

	// Unknown host accepting only RFC 9421: cavage, refused, then 9421.
	if s := c.SignatureScheme("modern.test"); s != signature.Cavage {
		t.Fatalf("unknown host starts with %s, want cavage", s)
	}
	if st := post("modern.test"); st != http.StatusAccepted {
		t.Fatalf("first delivery: %d", st)
	}
	want(modern, 1, 1)
	if s := c.SignatureScheme("modern.test"); s != signature.RFC9421 {
		t.Fatalf("remembered %s, want rfc9421", s)
	}
	// Remembered: the next delivery and a signed GET go straight to 9421.
	if st := post("modern.test"); st != http.StatusAccepted {
		t.Fatalf("second delivery: %d", st)
	}
	if _, _, err := c.GetActivity(ctx, "http://modern.test/notes/1", sign); err != nil {
		t.Fatalf("signed GET: %v", err)
	}
	want(modern, 1, 3)

	// A cavage host is asked once per request, and stays cavage.
	for range 2 {
		if st := post("classic.test"); st != http.StatusAccepted {
			t.Fatalf("cavage delivery: %d", st)
		}
	}
	want(classic, 2, 0)
	if s := c.SignatureScheme("classic.test"); s != signature.Cavage {
		t.Fatalf("cavage host remembered as %s", s)
	}

	// The 9421 host downgrades: 9421 refused, cavage accepted, remembered.
	modern.set(signature.Cavage)
	if st := post("modern.test"); st != http.StatusAccepted {
		t.Fatalf("after downgrade: %d", st)
	}
	want(modern, 1, 1)
	if s := c.SignatureScheme("modern.test"); s != signature.Cavage {
		t.Fatalf("remembered %s after downgrade, want cavage", s)
	}

	// A host refusing both is asked exactly twice, and nothing changes.
	modern.set()
	if st := post("modern.test"); st != http.StatusUnauthorized {
		t.Fatalf("refused by both: %d", st)
	}
	want(modern, 1, 1)
	if s := c.SignatureScheme("modern.test"); s != signature.Cavage {
		t.Fatalf("remembered %s after two refusals", s)
	}

	// A plain Signer is never retried.
	modern.set(signature.RFC9421)
	plain := func(r *http.Request, body []byte) error {
		return signature.Sign(r, body, "http://roost.test/actor#main-key", key, time.Now())
	}
	if st, err := c.Post(ctx, "http://modern.test/inbox", body, plain); err != nil || st != http.StatusUnauthorized {
		t.Fatalf("plain signer: %d, %v", st, err)
	}
	want(modern, 1, 0)
	if len(used) == 0 {
		t.Fatal("the knocking signer was never called")
	}
}

// TestIssue16RFC9421SchemesBounded: the per-host memory never grows past
// Max, and forgetting a host only means starting it at cavage again.
func TestIssue16RFC9421SchemesBounded(t *testing.T) {
	s := &signature.Schemes{Max: 3}
	for _, h := range []string{"a.test", "b.test", "c.test", "d.test"} {
		s.Accepted(h, signature.RFC9421)
	}
	known := 0
	for _, h := range []string{"a.test", "b.test", "c.test", "d.test"} {
		if s.First(h) == signature.RFC9421 {
			known++
		}
	}
	if known == 0 || known > 3 {
		t.Fatalf("%d hosts remembered, want 1 to 3", known)
	}
	if s.First("D.TEST") != signature.RFC9421 {
		t.Fatal("the latest host is forgotten (or host case matters)")
	}
}
