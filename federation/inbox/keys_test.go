package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/fetch"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// forge sends n deliveries naming keys of missing actors on victim.test
// (each keyId new), none of which can verify.
func (f *fixture) forge(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		actor := fmt.Sprintf("http://victim.test/users/ghost%d", i)
		err := f.svc.Receive(context.Background(), f.post(t, "a.example", actor+"#main-key", keyA, follow(actor, actor+"#f")))
		if !errs.Is(err, errs.Unauthorized) && !errs.Is(err, errs.Unavailable) {
			t.Fatalf("forged delivery %d: %v", i, err)
		}
	}
}

// Issue 14, finding 5: forged requests naming missing keys on a host
// spend that host's failure budget only; a genuine new actor of the host
// is still accepted within a trial interval (one second, on the injected
// clock), and the flood cost the host a bounded number of fetches.
func TestIssue14Finding5ForgedKeysDoNotLockOutNewActors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.forge(t, 0, 1000)
	if n := f.remote.requests.Load(); n != 11 {
		t.Fatalf("%d fetches for the flood, want 11 (budget 10, one trial)", n)
	}
	f.now = f.now.Add(time.Second) // the host's next trial
	f.remote.setKey("newbie", pemA)
	newbie := "http://victim.test/users/newbie"
	if err := f.svc.Receive(context.Background(), f.post(t, "a.example", newbie+"#main-key", keyA, follow(newbie, newbie+"#f/1"))); err != nil {
		t.Fatalf("a genuine new actor after the flood: %v", err)
	}
	// The flood goes on: each second its first request may take the trial,
	// and a genuine sender retrying gets through once it does not.
	f.now = f.now.Add(time.Second)
	f.forge(t, 1000, 50) // takes this second's trial
	f.remote.setKey("second", pemA)
	second := "http://victim.test/users/second"
	req := f.post(t, "a.example", second+"#main-key", keyA, follow(second, second+"#f/1"))
	if err := f.svc.Receive(context.Background(), req); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("while the trial is taken: %v, want unavailable (503, retried by senders)", err)
	}
	f.now = f.now.Add(time.Second)
	if err := f.svc.Receive(context.Background(), req); err != nil {
		t.Fatalf("the retry at the next trial: %v", err)
	}
	if n := f.items(t); n != 2 {
		t.Fatalf("%d items, want the two genuine deliveries", n)
	}
	if n := f.remote.requests.Load(); n != 14 {
		t.Fatalf("%d fetches in all, want 14 (11, newbie, one forged trial, second)", n)
	}
}

// Genuine new keys are counted by outcome: they never spend the failure
// budget, so a host with many new actors at once is not throttled (the
// old per-host budget refused the eleventh).
func TestIssue14Finding5GenuineKeysDoNotSpendFailureBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 30; i++ {
		user := fmt.Sprintf("fan%d", i)
		f.remote.setKey(user, pemA)
		actor := "http://victim.test/users/" + user
		if err := f.svc.Receive(context.Background(), f.post(t, "a.example", actor+"#main-key", keyA, follow(actor, actor+"#f"))); err != nil {
			t.Fatalf("new actor %d: %v", i, err)
		}
	}
	f.forge(t, 0, 10) // the failure budget is still whole: ten fetches
	if n := f.remote.requests.Load(); n != 40 {
		t.Fatalf("%d fetches, want 40", n)
	}
}

// A failed keyId is remembered: repeating it costs no fetch, and neither
// does it cost other keys of its host anything more.
func TestIssue14Finding5NegativeCachePerKeyID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ghost := "http://victim.test/users/ghost"
	for i := 0; i < 100; i++ {
		err := f.svc.Receive(context.Background(), f.post(t, "a.example", ghost+"#main-key", keyA, follow(ghost, fmt.Sprintf("%s#f/%d", ghost, i))))
		wantCode(t, err, errs.Unauthorized)
	}
	if n := f.remote.requests.Load(); n != 1 {
		t.Fatalf("%d fetches for one failed keyId sent 100 times, want 1", n)
	}
	f.forge(t, 0, 9) // nine more fit the budget: the repeats spent none
	if n := f.remote.requests.Load(); n != 10 {
		t.Fatalf("%d fetches, want 10", n)
	}
	// Past FailureTTL it is fetched again (the actor may exist by now).
	f.now = f.now.Add(11 * time.Minute)
	f.remote.setKey("ghost", pemA)
	if err := f.svc.Receive(context.Background(), f.post(t, "a.example", ghost+"#main-key", keyA, follow(ghost, ghost+"#f/late"))); err != nil {
		t.Fatalf("after the negative entry expired: %v", err)
	}
}

// gtsServer imitates GoToSocial's key endpoints: every GET must be signed
// (with key B, the test's instance actor key), "<actor>/main-key" serves
// a stub (id, preferredUsername, publicKey; no inbox) and "<actor>" the
// whole actor. docs maps paths to documents; the test edits it.
type gtsServer struct {
	mu       sync.Mutex
	docs     map[string]any
	requests map[string]int
	unsigned int
}

func (g *gtsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests[r.Host+r.URL.Path]++
	p, err := signature.Check(r, nil, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	if err == nil {
		pub, _ := signature.ParsePublicKeyPEM(pemB)
		err = signature.Verify(r, p, pub)
	}
	if err != nil {
		g.unsigned++
		http.Error(w, "unsigned", http.StatusUnauthorized)
		return
	}
	doc, ok := g.docs[r.Host+r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", `application/activity+json`)
	json.NewEncoder(w).Encode(doc)
}

func (g *gtsServer) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.requests {
		n += c
	}
	return n
}

func gtsActor(host, user, keyPath, pem string, full bool) map[string]any {
	id := "http://" + host + "/users/" + user
	m := map[string]any{
		"@context": []string{"https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"},
		"id":       id, "type": "Person", "preferredUsername": user,
		"publicKey": map[string]any{"id": "http://" + host + keyPath, "owner": id, "publicKeyPem": pem},
	}
	if full {
		m["inbox"], m["outbox"] = id+"/inbox", id+"/outbox"
	}
	return m
}

// Issue 16, bug 1: a delivery signed with a GoToSocial keyId is verified
// by following the stub's owner to the whole actor with a signed GET; the
// key is then cached, and a stub cannot vouch for an actor that does not
// list its key, nor for one on another host.
func TestIssue16Bug1GoToSocialStubKeyOwner(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	g := &gtsServer{docs: map[string]any{}, requests: map[string]int{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	hosts := map[string]string{"gts.test": srv.Listener.Addr().String(), "evil.test": srv.Listener.Addr().String()}
	f.svc.Keys = &actors.Keys{Store: fedpg.New(f.db), Fetch: fetch.New(fetch.Config{Resolve: hosts}), Now: func() time.Time { return f.now },
		Sign: func(r *http.Request, body []byte) error {
			return signature.Sign(r, body, "https://a.example/actor#main-key", keyB, f.now)
		}}
	g.docs["gts.test/users/alice/main-key"] = gtsActor("gts.test", "alice", "/users/alice/main-key", pemA, false)
	g.docs["gts.test/users/alice"] = gtsActor("gts.test", "alice", "/users/alice/main-key", pemA, true)
	alice, key := "http://gts.test/users/alice", "http://gts.test/users/alice/main-key"
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := f.svc.Receive(ctx, f.post(t, "a.example", key, keyA, follow(alice, fmt.Sprintf("%s/follows/%d", alice, i)))); err != nil {
			t.Fatalf("delivery %d signed with a GoToSocial key: %v", i, err)
		}
	}
	if n, u := g.count(), g.unsigned; n != 2 || u != 0 {
		t.Fatalf("%d requests (%d unsigned), want the stub and the actor, both signed, once", n, u)
	}
	if n := f.items(t); n != 2 {
		t.Fatalf("%d items, want 2", n)
	}

	refused := map[string]func(){
		// The owner's document lists another key: the stub lied.
		"owner does not list the key": func() {
			g.docs["gts.test/users/bob/main-key"] = gtsActor("gts.test", "bob", "/users/bob/main-key", pemA, false)
			g.docs["gts.test/users/bob"] = gtsActor("gts.test", "bob", "/users/bob/other-key", pemA, true)
		},
		// The stub names an owner on another host.
		"owner on another host": func() {
			stub := gtsActor("gts.test", "bob", "/users/bob/main-key", pemA, false)
			stub["publicKey"].(map[string]any)["owner"] = "http://evil.test/users/bob"
			g.docs["gts.test/users/bob/main-key"] = stub
			g.docs["evil.test/users/bob"] = gtsActor("evil.test", "bob", "/users/bob/main-key", pemA, true)
		},
	}
	for name, setup := range refused {
		t.Run(name, func(t *testing.T) {
			g.mu.Lock()
			setup()
			g.mu.Unlock()
			f.now = f.now.Add(time.Hour) // past the previous case's negative entry
			bob := "http://gts.test/users/bob"
			err := f.svc.Receive(ctx, f.post(t, "a.example", bob+"/main-key", keyA, follow(bob, bob+"/follows/"+strings.ReplaceAll(name, " ", "-"))))
			wantCode(t, err, errs.Unauthorized)
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.requests["evil.test/users/bob"] != 0 {
				t.Fatal("fetched an owner on another host")
			}
		})
	}
}
