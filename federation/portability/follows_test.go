package portability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
)

// remote is a server at remote.test answering WebFinger and actors for
// any user, counting every request it gets.
func remote(t *testing.T) (addr string, requests *atomic.Int64) {
	t.Helper()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	requests = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/.well-known/webfinger" {
			user := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("resource"), "acct:"), "@remote.test")
			w.Header().Set("Content-Type", "application/jrd+json")
			json.NewEncoder(w).Encode(map[string]any{"subject": "acct:" + user + "@remote.test", "links": []any{
				map[string]string{"rel": "self", "type": "application/activity+json", "href": "http://remote.test/users/" + user}}})
			return
		}
		user := strings.TrimPrefix(r.URL.Path, "/users/")
		id := "http://remote.test/users/" + user
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "Person",
			"preferredUsername": user, "inbox": id + "/inbox",
			"publicKey": map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": kp.PublicPEM}})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), requests
}

// followSender wires the real outbox: WebFinger and actor fetches through
// the safe client (remote.test resolved to the test server), Follows into
// the delivery queue.
func (w *world) followSender(t *testing.T, addr string) *portability.FollowSender {
	t.Helper()
	redis, prefix := testenv.Redis(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := fetch.New(fetch.Config{Resolve: map[string]string{"remote.test": addr}})
	keys := &actors.Keys{Store: w.store, Fetch: client}
	ob := &outbox.Service{Keys: keys, Fetch: client, Follows: w.store, Store: w.store,
		Locals: &inbox.SiteLocals{Sites: tenant.NewHostCache(w.tenants, time.Minute, 100), Accounts: w.store, Scheme: "https"},
		Send:   &delivery.Queue{Store: w.store, Redis: redis, Prefix: prefix, Log: log}}
	return &portability.FollowSender{Queue: w.store, Follower: ob, Now: func() time.Time { return w.now }, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
}

// 300 follows of accounts on one server: the import itself sends nothing;
// the queue sends a burst of 10, then one per 6 s, each costing that
// server a WebFinger and an actor fetch (the Follow goes through the
// delivery queue); an account's follows stop at the follow limit, and
// importing again queues nothing twice.
func TestIssue14Finding4ManyFollowsOneHost(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	addr, requests := remote(t)
	csv := "Account address,Show boosts\n" + fmt.Sprint(lines(300, func(i int) string { return fmt.Sprintf("u%d@remote.test,true", i) }))
	z := zipOf(t, archive.FollowingCSV, csv)
	sum, j, err := w.run(t, z)
	if err != nil {
		t.Fatal(err)
	}
	if sum.FollowsQueued != 300 || requests.Load() != 0 || j.FollowsQueued != 300 {
		t.Fatalf("import queued %d (job says %d) and made %d requests; want 300 queued, none sent", sum.FollowsQueued, j.FollowsQueued, requests.Load())
	}
	sender := w.followSender(t, addr)
	send := func() int {
		n, err := sender.Once(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := send(); n != 10 || requests.Load() != 20 {
		t.Fatalf("first pass sent %d follows with %d requests; want the burst of 10, 20 requests", n, requests.Load())
	}
	if n := send(); n != 0 || requests.Load() != 20 {
		t.Fatalf("at the same instant, %d more follows and %d requests", n, requests.Load())
	}
	w.now = w.now.Add(time.Minute)
	if n := send(); n != 10 || requests.Load() != 40 {
		t.Fatalf("a minute on, %d follows (want 10) and %d requests (want 40)", n, requests.Load())
	}
	w.now = w.now.Add(time.Hour)
	if n := send(); n != 280 || requests.Load() != 600 {
		t.Fatalf("an hour on, %d follows (want the 280 left) and %d requests (want 600: two per account)", n, requests.Load())
	}
	if n := w.count(t, `select count(*) from follows where follower_id = $1`, w.me.ID); n != 300 {
		t.Errorf("%d follows, want 300", n)
	}
	if n := w.count(t, `select count(*) from deliveries where sender_id = $1 and host = 'remote.test'`, w.me.ID); n != 300 {
		t.Errorf("%d Follow deliveries queued, want 300", n)
	}
	// Again: everything is followed already, nothing is queued or sent.
	sum, _, err = w.run(t, z)
	if err != nil || sum.FollowsQueued != 0 || sum.FollowsAlready != 300 || send() != 0 || requests.Load() != 600 {
		t.Fatalf("second import: %v, %s, %d requests", err, sum, requests.Load())
	}
	// Another account, with a follow limit of 100: the rest are counted,
	// said once, and never queued.
	w.me = w.account(t, "second")
	w.im.Spread = archive.FollowSpread{Burst: 10, Interval: 6 * time.Second, Max: 100}
	sum, _, err = w.run(t, z)
	if err != nil || sum.FollowsQueued != 100 || sum.FollowsSkipped != 200 {
		t.Fatalf("import over the follow limit: %v, %s", err, sum)
	}
	if n := w.count(t, `select count(*) from import_follows where account_id = $1`, w.me.ID); n != 100 {
		t.Errorf("%d follows queued, want 100", n)
	}
}
