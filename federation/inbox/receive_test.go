package inbox_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"golang.org/x/time/rate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	keysOnce sync.Once
	keyA     *rsa.PrivateKey
	keyB     *rsa.PrivateKey
	pemA     string
	pemB     string
)

func testKeys(t testing.TB) {
	keysOnce.Do(func() {
		for _, k := range []struct {
			key *(*rsa.PrivateKey)
			pem *string
		}{{&keyA, &pemA}, {&keyB, &pemB}} {
			kp, err := federation.GenerateKeyPair()
			if err != nil {
				panic(err)
			}
			priv, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
			if err != nil {
				panic(err)
			}
			*k.key, *k.pem = priv.(*rsa.PrivateKey), kp.PublicPEM
		}
	})
}

// remote is a fediverse server at http://remote.test serving actors whose
// key PEMs the test can change; it counts every request it gets.
type remote struct {
	mu         sync.Mutex
	keys       map[string]string // username → public PEM
	requests   atomic.Int64
	signedGets atomic.Int64 // GETs whose signature verifies with key B
	addr       string
	aka        map[string][]string // username → alsoKnownAs
}

func newRemote(t testing.TB) *remote {
	r := &remote{keys: map[string]string{}, aka: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if p, err := signature.Check(req, nil, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)); err == nil {
			if pub, err := signature.ParsePublicKeyPEM(pemB); err == nil && signature.Verify(req, p, pub) == nil {
				r.signedGets.Add(1)
			}
		}
		name := strings.TrimPrefix(req.URL.Path, "/users/")
		r.mu.Lock()
		pem, ok := r.keys[name]
		aka := r.aka[name]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		id := "http://" + req.Host + "/users/" + name
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams"}, "id": id, "type": "Person",
			"preferredUsername": name, "inbox": id + "/inbox",
			"publicKey":   map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": pem},
			"alsoKnownAs": aka,
		})
	}))
	t.Cleanup(srv.Close)
	r.addr = srv.Listener.Addr().String()
	return r
}

func (r *remote) setKey(user, pem string) {
	r.mu.Lock()
	r.keys[user] = pem
	r.mu.Unlock()
}

type fixture struct {
	svc    *inbox.Service
	db     *pgxpool.Pool
	remote *remote
	now    time.Time
	ours   map[string]bool
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	testKeys(t)
	db := testenv.DB(t)
	f := &fixture{db: db, remote: newRemote(t), now: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), ours: map[string]bool{"a.example": true}}
	f.remote.setKey("eve", pemA)
	if _, err := db.Exec(context.Background(), `insert into tenants (name) values ('A')`); err != nil {
		t.Fatal(err)
	}
	store := fedpg.New(db)
	client := fetch.New(fetch.Config{Resolve: map[string]string{"remote.test": f.remote.addr, "victim.test": f.remote.addr}})
	now := func() time.Time { return f.now }
	f.svc = &inbox.Service{
		Keys:  &actors.Keys{Store: store, Fetch: client, Now: now, HostRate: rate.Every(time.Hour), HostBurst: 10},
		Store: store,
		Ours:  func(_ context.Context, host string) bool { return f.ours[host] },
		Now:   now,
	}
	return f
}

// post builds a signed delivery of activity to host's shared inbox.
func (f *fixture) post(t testing.TB, host, keyID string, key *rsa.PrivateKey, activity map[string]any) federation.InboxRequest {
	t.Helper()
	body, _ := json.Marshal(activity)
	r, _ := http.NewRequest("POST", "https://"+host+"/inbox", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(r, body, keyID, key, f.now); err != nil {
		t.Fatal(err)
	}
	return federation.InboxRequest{Method: "POST", Target: "/inbox", Host: host, Header: r.Header, Body: body, TenantID: 1, Domain: host}
}

func follow(actor, id string) map[string]any {
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Follow",
		"actor": actor, "object": "https://a.example/users/alice"}
}

const eve = "http://remote.test/users/eve"

func (f *fixture) items(t *testing.T) int {
	var n int
	f.db.QueryRow(context.Background(), `select count(*) from inbox_items`).Scan(&n)
	return n
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("err = %v, want %s", err, code)
	}
}

func TestValidDeliveryQueuedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/1"))
	for i := 0; i < 2; i++ { // SECURITY 6: the same activity twice is queued once
		if err := f.svc.Receive(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.items(t); n != 1 {
		t.Fatalf("%d inbox items, want 1", n)
	}
	if n := f.remote.requests.Load(); n != 1 {
		t.Fatalf("%d key fetches, want 1 (then cached)", n)
	}
}

func TestSpoofedDeliveriesRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.remote.setKey("mallory", pemB)
	ctx := context.Background()
	cases := map[string]func() federation.InboxRequest{
		// SECURITY 1: key on one host, actor on another.
		"key host differs from actor host": func() federation.InboxRequest {
			return f.post(t, "a.example", eve+"#main-key", keyA, follow("http://other.test/users/eve", "http://other.test/f/1"))
		},
		// The key is eve's, the actor claims to be mallory (same host).
		"key of another actor": func() federation.InboxRequest {
			return f.post(t, "a.example", eve+"#main-key", keyA, follow("http://remote.test/users/mallory", "http://remote.test/f/2"))
		},
		// SECURITY 2: one body byte changed, Digest unchanged.
		"body changed": func() federation.InboxRequest {
			r := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/3"))
			r.Body = bytes.Replace(r.Body, []byte("Follow"), []byte("Fellow"), 1)
			return r
		},
		// SECURITY 4: signed for tenant A, replayed to tenant B.
		"replayed to another host": func() federation.InboxRequest {
			r := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/4"))
			r.Host = "b.example"
			return r
		},
		// SECURITY 11: an activity claiming one of our own domains.
		"actor on our own domain": func() federation.InboxRequest {
			return f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/5"))
		},
		"activity id on another host": func() federation.InboxRequest {
			return f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, "http://other.test/f/6"))
		},
		"signed with the wrong key": func() federation.InboxRequest {
			return f.post(t, "a.example", eve+"#main-key", keyB, follow(eve, eve+"#follows/7"))
		},
	}
	for name, build := range cases {
		t.Run(name, func(t *testing.T) {
			req := build()
			if name == "actor on our own domain" {
				f.ours["remote.test"] = true
				defer delete(f.ours, "remote.test")
			}
			wantCode(t, f.svc.Receive(ctx, req), errs.Unauthorized)
		})
	}
	if n := f.items(t); n != 0 {
		t.Fatalf("refused deliveries queued %d items", n)
	}
}

// SECURITY 5: stale or future Dates are refused before any key fetch.
func TestDateWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, shift := range []time.Duration{-13 * time.Hour, 2 * time.Hour} {
		signedAt := f.now
		f.now = signedAt.Add(shift)
		req := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, fmt.Sprintf("%s#f/%d", eve, shift)))
		f.now = signedAt
		wantCode(t, f.svc.Receive(context.Background(), req), errs.Unauthorized)
	}
	if n := f.remote.requests.Load(); n != 0 {
		t.Fatalf("%d key fetches for stale requests, want 0", n)
	}
}

// SECURITY 12: a rotated key is refetched and checked; a wrong key is
// refetched at most once per refresh interval.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.Receive(ctx, f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#f/1"))); err != nil {
		t.Fatal(err)
	}
	f.remote.setKey("eve", pemB) // eve rotates to key B
	if err := f.svc.Receive(ctx, f.post(t, "a.example", eve+"#main-key", keyB, follow(eve, eve+"#f/2"))); err != nil {
		t.Fatalf("delivery signed with the rotated key: %v", err)
	}
	before := f.remote.requests.Load()
	for i := 0; i < 20; i++ { // signed with the old key: refused, refetch bounded
		err := f.svc.Receive(ctx, f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, fmt.Sprintf("%s#old/%d", eve, i))))
		wantCode(t, err, errs.Unauthorized)
	}
	if n := f.remote.requests.Load() - before; n > 1 {
		t.Fatalf("%d refetches for 20 bad signatures, want at most 1", n)
	}
	if n := f.items(t); n != 2 {
		t.Fatalf("%d items, want 2", n)
	}
}

// SECURITY 14: 1,000 bad-signature deliveries naming keys on a victim
// host cause a bounded number of fetches there: at one instant, the
// failure budget (10) and one trial; whether the keys are missing or real
// (a real key whose signature fails costs the same as a missing one).
func TestForgedKeysBoundFetches(t *testing.T) {
	t.Parallel()
	for _, real := range []bool{false, true} {
		t.Run(fmt.Sprintf("real keys %v", real), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := context.Background()
			for i := 0; i < 1000; i++ {
				user := fmt.Sprintf("u%d", i)
				if real {
					f.remote.setKey(user, pemB) // signed below with key A: a forgery
				}
				actor := "http://victim.test/users/" + user
				err := f.svc.Receive(ctx, f.post(t, "a.example", actor+"#main-key", keyA, follow(actor, actor+"#f")))
				if !errs.Is(err, errs.Unauthorized) && !errs.Is(err, errs.Unavailable) {
					t.Fatalf("forged delivery %d: %v", i, err)
				}
			}
			if n := f.remote.requests.Load(); n > 11 {
				t.Fatalf("%d fetches to the victim for 1,000 forged deliveries, want ≤ 11", n)
			}
			if n := f.items(t); n != 0 {
				t.Fatalf("%d forged deliveries queued", n)
			}
		})
	}
}

// Key fetches are signed as the receiving site's instance actor
// (authorized fetch), and only when a site is acting.
func TestKeyFetchesAreSigned(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	var signedWith []string
	f.svc.Keys.Sign = func(r *http.Request, body []byte) error {
		host := federation.ActingHost(r.Context())
		mu.Lock()
		signedWith = append(signedWith, host)
		mu.Unlock()
		return signature.Sign(r, body, "https://"+host+"/actor#main-key", keyB, f.now)
	}
	req := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#f/signed"))
	req.ActorHost = "social.a.example"
	if err := f.svc.Receive(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(signedWith) != 1 || signedWith[0] != "social.a.example" {
		t.Fatalf("key fetch signed as %v, want once as social.a.example", signedWith)
	}
	if n := f.remote.signedGets.Load(); n != 1 {
		t.Fatalf("the remote server saw %d verifiable signed GETs, want 1", n)
	}
}
