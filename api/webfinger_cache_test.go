package api_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/activitypub"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/hotcache"
)

// Issue 21, WebFinger: a node keeps each account's rendered answer
// (api/activitypub webfinger_cache.go) and drops it exactly when the
// database announces a change of the account or its tenant (migration
// 046, heard by fedpg.CacheChanges): the same answer as rendered fresh,
// never another tenant's, and never an account that is gone.
func TestIssue21WebFingerAnswerCachedAndDroppedOnChange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	set := hotcache.NewSet(nil)
	docs := activitypub.NewWebFingers(set)
	now := time.Now()
	docs.Now = func() time.Time { return now } // no answer expires, however slow the machine
	w := newWorld(t, func(o *api.Options) { o.WebFingers = docs })
	fresh := newWorld(t) // the same answers, rendered on every request
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&fedpg.CacheChanges{DB: w.db, Cache: set, Ping: time.Second}).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the cache listener to listen", set.Online)

	body := func(w *world, host, resource string) (int, string) {
		resp := w.get(t, host, "/.well-known/webfinger?resource="+resource)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type") + " " + resp.Header.Get("Cache-Control") + " " + string(b)
	}
	for _, q := range []struct{ host, resource string }{
		{"a.example", "acct:alice@a.example"}, {"a.example", "acct:ALICE@a.example"}, {"a.example", "acct:bob@a.example"},
		{"b.example", "acct:alice@b.example"}, {"social.b.example", "acct:alice@b.example"},
	} {
		for range 2 { // a miss, then a hit
			code, got := body(w, q.host, q.resource)
			wantCode, want := body(fresh, q.host, q.resource)
			if code != 200 || code != wantCode || got != want {
				t.Fatalf("%s on %s: %d %s\nrendered fresh: %d %s", q.resource, q.host, code, got, wantCode, want)
			}
		}
	}
	if n := docs.Len(); n != 3 { // alice (either case) and bob on A; alice of B (one answer on both of B's hosts)
		t.Fatalf("%d answers kept, want 3", n)
	}

	// Alice of A is suspended: her answer goes, bob's and B's stay.
	if _, err := w.db.Exec(ctx, `insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`,
		w.aliceA.ID, w.tenantA.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the suspended account's answer to go", func() bool {
		code, _ := body(w, "a.example", "acct:alice@a.example")
		return code == 404
	})
	if n := docs.Len(); n != 2 {
		t.Errorf("%d answers kept after one account's change, want 2 (bob's and tenant B's stay)", n)
	}
	if code, _ := body(w, "b.example", "acct:alice@b.example"); code != 200 {
		t.Errorf("tenant B's alice answered %d after tenant A's was suspended", code)
	}
}
