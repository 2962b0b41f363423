package inbox_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/fetch"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// post9421 is post signed in RFC 9421 (Sign9421: @method, @target-uri,
// content-digest).
func (f *fixture) post9421(t testing.TB, host, keyID string, key *rsa.PrivateKey, activity map[string]any) federation.InboxRequest {
	t.Helper()
	body, _ := json.Marshal(activity)
	r, _ := http.NewRequest("POST", "https://"+host+"/inbox", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign9421(r, body, keyID, key, f.now); err != nil {
		t.Fatal(err)
	}
	return federation.InboxRequest{Method: "POST", Target: "/inbox", Host: host, Header: r.Header, Body: body, TenantID: 1, Domain: host}
}

// TestIssue16RFC9421InboxDelivery: a delivery signed in RFC 9421 is
// verified through the same key-owner path as cavage (fetched once, then
// cached; a GoToSocial stub key followed to its owner) and held to the
// same rules: key bound to the actor, body bound by Content-Digest,
// tenant bound by @target-uri, the 12 h window, the right key.
func TestIssue16RFC9421InboxDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := f.svc.Receive(ctx, f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, fmt.Sprintf("%s#follows/%d", eve, i)))); err != nil {
			t.Fatalf("RFC 9421 delivery %d: %v", i, err)
		}
	}
	if n := f.remote.requests.Load(); n != 1 {
		t.Fatalf("%d key fetches, want 1 (then cached)", n)
	}
	refused := map[string]func() federation.InboxRequest{
		"key of another actor": func() federation.InboxRequest {
			return f.post9421(t, "a.example", eve+"#main-key", keyA, follow("http://remote.test/users/mallory", "http://remote.test/f/2"))
		},
		"body changed": func() federation.InboxRequest {
			r := f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/3"))
			r.Body = bytes.Replace(r.Body, []byte("Follow"), []byte("Fellow"), 1)
			return r
		},
		"replayed to another tenant": func() federation.InboxRequest {
			r := f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/4"))
			r.Host = "b.example"
			return r
		},
		"content-digest missing": func() federation.InboxRequest {
			r := f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/5"))
			r.Header.Del("Content-Digest")
			return r
		},
		"wrong key": func() federation.InboxRequest {
			return f.post9421(t, "a.example", eve+"#main-key", keyB, follow(eve, eve+"#follows/6"))
		},
		"created 13 h old": func() federation.InboxRequest {
			defer func(now time.Time) { f.now = now }(f.now)
			f.now = f.now.Add(-13 * time.Hour)
			return f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/7"))
		},
	}
	for name, build := range refused {
		t.Run(name, func(t *testing.T) {
			wantCode(t, f.svc.Receive(ctx, build()), errs.Unauthorized)
		})
	}
	// With the server's scheme configured, @target-uri is checked against
	// it alone: a signature over https://… is refused by an http server.
	f.svc.Scheme = "http"
	wantCode(t, f.svc.Receive(ctx, f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/8"))), errs.Unauthorized)
	f.svc.Scheme = "https"
	if err := f.svc.Receive(ctx, f.post9421(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/9"))); err != nil {
		t.Fatalf("with Scheme https: %v", err)
	}
	if n := f.items(t); n != 3 {
		t.Fatalf("%d items, want the 3 valid deliveries", n)
	}

	// A GoToSocial-style stub key resolves through the same owner path.
	g := &gtsServer{docs: map[string]any{}, requests: map[string]int{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	f.svc.Keys = &actors.Keys{Store: fedpg.New(f.db), Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"gts.test": srv.Listener.Addr().String()}}),
		Now: func() time.Time { return f.now },
		Sign: func(r *http.Request, body []byte) error {
			return signature.Sign9421(r, body, "https://a.example/actor#main-key", keyB, f.now)
		}}
	g.docs["gts.test/users/alice/main-key"] = gtsActor("gts.test", "alice", "/users/alice/main-key", pemA, false)
	g.docs["gts.test/users/alice"] = gtsActor("gts.test", "alice", "/users/alice/main-key", pemA, true)
	alice := "http://gts.test/users/alice"
	if err := f.svc.Receive(ctx, f.post9421(t, "a.example", alice+"/main-key", keyA, follow(alice, alice+"/follows/1"))); err != nil {
		t.Fatalf("RFC 9421 delivery with a stub key: %v", err)
	}
	if n, u := g.count(), g.unsigned; n != 2 || u != 0 {
		t.Fatalf("%d requests (%d refused), want the stub and the actor, both signed in RFC 9421", n, u)
	}
}

// TestIssue16RFC9421SignedFetch: authorized fetch's VerifyFetch accepts a
// GET signed in either scheme through the one verification path, and
// refuses one replayed to another path.
func TestIssue16RFC9421SignedFetch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	for _, s := range []signature.Scheme{signature.Cavage, signature.RFC9421} {
		t.Run(s.String(), func(t *testing.T) {
			r, _ := http.NewRequest("GET", "https://a.example/users/alice?page=1", nil)
			r.Header.Set("Accept", "application/activity+json")
			if err := signature.SignWith(s, r, nil, eve+"#main-key", keyA, f.now); err != nil {
				t.Fatal(err)
			}
			in := federation.InboxRequest{Method: "GET", Target: "/users/alice?page=1", Host: "a.example", Header: r.Header, TenantID: 1, Domain: "a.example"}
			owner, err := f.svc.VerifyFetch(ctx, in)
			if err != nil || owner.Remote.URI != eve {
				t.Fatalf("VerifyFetch = %v, %v; want eve", owner, err)
			}
			in.Target = "/users/alice/followers?page=1"
			_, err = f.svc.VerifyFetch(ctx, in)
			wantCode(t, err, errs.Unauthorized)
		})
	}
}
