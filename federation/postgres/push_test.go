package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/federation/webpush"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pushtest"
)

// token issues an access token of account a (as the OAuth store does:
// only its hash is kept) and returns its id.
func (w *moreWorld) token(a *federation.Account) int64 {
	w.t.Helper()
	ctx := context.Background()
	w.n++
	var app, tok int64
	if err := w.db.QueryRow(ctx, `insert into oauth_apps (tenant_id, name, redirect_uris, scopes, client_id, client_secret_hash)
		values ($1, 'app', array['urn:ietf:wg:oauth:2.0:oob'], 'read push', $2, '\x00') returning id`,
		a.TenantID, fmt.Sprintf("client-%d", w.n)).Scan(&app); err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.QueryRow(ctx, `insert into oauth_tokens (tenant_id, app_id, account_id, token_hash, scopes)
		values ($1, $2, $3, $4, 'read push') returning id`, a.TenantID, app, a.ID, []byte(fmt.Sprintf("hash-%d", w.n))).
		Scan(&tok); err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// subscribe gives a's token a subscription through the use case.
func (w *moreWorld) subscribe(svc *push.Service, a *federation.Account, tok int64, endpoint string, keys *pushtest.Keys,
	policy string, alerts ...string) *federation.PushSubscription {
	w.t.Helper()
	p, err := svc.Subscribe(context.Background(), push.Owner{TenantID: a.TenantID, AccountID: a.ID, TokenID: tok,
		Bearer: fmt.Sprintf("bearer-%d", tok)}, push.Subscription{Endpoint: endpoint, P256DH: keys.P256DH(),
		Auth: keys.AuthSecret(), Alerts: push.Alerts{Enabled: alerts, Policy: policy}})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *moreWorld) pending(sub int64) []string {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `select n.type from push_deliveries d
		join notifications n on n.id = d.notification_id where d.subscription_id = $1 order by d.id`, sub)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func mustKeys(t *testing.T) *pushtest.Keys {
	t.Helper()
	k, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Every notification, whichever path inserts it, queues a push for each
// matching subscription in its own transaction: the alerts filter (off
// means none), the policy (followed: only accounts the subscriber
// follows; follower: only their followers; none: nothing), no push for
// a revoked token or a notification the notification policy filtered.
func TestIssue17PushFanOutFollowsAlertsAndPolicy(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	svc := &push.Service{Store: w.s}
	all := []string{"mention", "follow", "favourite", "reblog", "status", "poll", "update"}

	tok := w.token(w.alice)
	sub := w.subscribe(svc, w.alice, tok, "https://push.example/a", mustKeys(t), "all", "mention", "follow", "favourite")
	own := w.localPost(w.alice, "mine", federation.Public)
	w.localPost(w.bob, "hi @alice", federation.Public, w.alice)
	w.follow(w.bob, w.alice)
	if err := w.s.Favourite(ctx, w.bob.ID, own.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := w.pending(sub.ID); !slices.Equal(got, []string{"mention", "follow", "favourite"}) {
		t.Fatalf("pending %v, want a mention, a follow and a favourite", got)
	}

	// Mention alerts off: a mention queues nothing.
	if _, err := svc.Update(ctx, push.Owner{TenantID: w.ta, AccountID: w.alice.ID, TokenID: tok},
		push.Alerts{Enabled: []string{"follow", "favourite"}}); err != nil {
		t.Fatal(err)
	}
	w.localPost(w.bob, "again @alice", federation.Public, w.alice)
	if got := w.pending(sub.ID); len(got) != 3 {
		t.Fatalf("a mention with mention alerts off was queued: %v", got)
	}

	// followed: dave (whom alice does not follow) is not pushed; bob,
	// once alice follows him, is.
	dave := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "dave", "dave@a.example"))
	sub = w.subscribe(svc, w.alice, tok, "https://push.example/a2", mustKeys(t), "followed", all...)
	if got := w.pending(sub.ID); len(got) != 0 {
		t.Fatalf("a new subscription inherited pushes: %v", got)
	}
	w.localPost(dave, "hey @alice", federation.Public, w.alice)
	w.follow(w.alice, w.bob)
	w.localPost(w.bob, "yo @alice", federation.Public, w.alice)
	if got := w.pending(sub.ID); !slices.Equal(got, []string{"mention"}) {
		t.Fatalf("followed policy: pending %v, want bob's mention only", got)
	}

	// follower: bob follows alice, dave does not.
	sub = w.subscribe(svc, w.alice, tok, "https://push.example/a3", mustKeys(t), "follower", all...)
	w.localPost(dave, "hey again @alice", federation.Public, w.alice)
	w.localPost(w.bob, "yo again @alice", federation.Public, w.alice)
	if got := w.pending(sub.ID); !slices.Equal(got, []string{"mention"}) {
		t.Fatalf("follower policy: pending %v, want bob's mention only", got)
	}

	// none: nothing at all.
	sub = w.subscribe(svc, w.alice, tok, "https://push.example/a4", mustKeys(t), "none", all...)
	w.localPost(w.bob, "anyone @alice", federation.Public, w.alice)
	if got := w.pending(sub.ID); len(got) != 0 {
		t.Fatalf("policy none queued %v", got)
	}

	// A filtered notification (the requests) and a revoked token push nothing.
	sub = w.subscribe(svc, w.alice, tok, "https://push.example/a5", mustKeys(t), "all", all...)
	st := w.localPost(w.bob, "filtered", federation.Public)
	if _, err := w.db.Exec(ctx, `insert into notifications (account_id, from_account_id, type, status_id, filtered)
		values ($1, $2, 'mention', $3, true)`, w.alice.ID, w.bob.ID, st.ID); err != nil {
		t.Fatal(err)
	}
	if got := w.pending(sub.ID); len(got) != 0 {
		t.Fatalf("a filtered notification was pushed: %v", got)
	}
	if _, err := w.db.Exec(ctx, `update oauth_tokens set revoked_at = now() where id = $1`, tok); err != nil {
		t.Fatal(err)
	}
	w.localPost(w.bob, "revoked @alice", federation.Public, w.alice)
	if got := w.pending(sub.ID); len(got) != 0 {
		t.Fatalf("a revoked token's subscription was pushed: %v", got)
	}
}

// The claim SQL: concurrent workers take disjoint rows; a claimed row
// is leased (not due again before now+lease, then due with its attempt
// counted); a retry moves it; a sent row is gone; a withdrawn
// notification (an undone favourite) takes its pending push with it; a
// revoked token's pushes are dropped, not sent.
func TestIssue17PushClaimSQL(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	svc := &push.Service{Store: w.s}
	tok := w.token(w.alice)
	sub := w.subscribe(svc, w.alice, tok, "https://push.example/a", mustKeys(t), "all", "mention", "favourite")
	for i := range 12 {
		w.localPost(w.bob, fmt.Sprintf("%d @alice", i), federation.Public, w.alice)
	}
	now := time.Now().Add(time.Minute) // every row is due by then, whatever the clocks

	var mu sync.Mutex
	var wg sync.WaitGroup
	seen := map[int64]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, err := w.s.ClaimPushes(ctx, now, time.Minute, 5)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, j := range jobs {
				seen[j.ID]++
				if j.Attempts != 1 || j.Subscription.ID != sub.ID || j.Notification.Type != "mention" ||
					j.Notification.FromUsername != "bob" || j.Notification.Domain != "a.example" {
					t.Errorf("job %+v", j)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 12 {
		t.Fatalf("claimed %d distinct pushes of 12", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("push %d claimed %d times", id, n)
		}
	}
	if jobs, err := w.s.ClaimPushes(ctx, now.Add(59*time.Second), time.Minute, 100); err != nil || len(jobs) != 0 {
		t.Fatalf("within the lease: %d claimed, %v", len(jobs), err)
	}
	again, err := w.s.ClaimPushes(ctx, now.Add(61*time.Second), time.Minute, 100)
	if err != nil || len(again) != 12 || again[0].Attempts != 2 {
		t.Fatalf("after the lease: %d claimed (%v), want all 12 at attempt 2", len(again), err)
	}
	later := now.Add(time.Hour)
	for i, j := range again {
		var err error
		if i < 6 {
			err = w.s.PushSent(ctx, j.ID)
		} else {
			err = w.s.RetryPush(ctx, j.ID, later, "push service answered 500")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if jobs, err := w.s.ClaimPushes(ctx, later.Add(-time.Second), time.Minute, 100); err != nil || len(jobs) != 0 {
		t.Fatalf("before the retry time: %d, %v", len(jobs), err)
	}
	if n := count(t, w.db, `select count(*) from push_deliveries where last_error = 'push service answered 500'`); n != 6 {
		t.Fatalf("%d retries recorded, want 6", n)
	}

	// An undone favourite withdraws its notification and its push.
	own := w.localPost(w.alice, "like me", federation.Public)
	if err := w.s.Favourite(ctx, w.bob.ID, own.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w.db, `select count(*) from push_deliveries`); n != 7 {
		t.Fatalf("%d pending, want 7", n)
	}
	if _, err := w.s.Unfavourite(ctx, w.bob.ID, "", own.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w.db, `select count(*) from push_deliveries`); n != 6 {
		t.Fatalf("the undone favourite's push is still pending (%d)", n)
	}

	// A revoked token: its pushes are dropped at the next claim.
	if _, err := w.db.Exec(ctx, `update oauth_tokens set revoked_at = now() where id = $1`, tok); err != nil {
		t.Fatal(err)
	}
	if jobs, err := w.s.ClaimPushes(ctx, later.Add(time.Second), time.Minute, 100); err != nil || len(jobs) != 0 {
		t.Fatalf("a revoked token's pushes were claimed: %d, %v", len(jobs), err)
	}
	if n := count(t, w.db, `select count(*) from push_deliveries`); n != 0 {
		t.Fatalf("%d pushes of a revoked token left", n)
	}
	if err := w.s.DropPushSubscription(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w.db, `select count(*) from push_subscriptions`); n != 0 {
		t.Fatal("dropped subscription still there")
	}
}

// A token of tenant B (or of another account) can neither read, replace,
// change nor delete a subscription of tenant A; nothing changes.
func TestIssue17PushSubscriptionCrossTenant(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	svc := &push.Service{Store: w.s}
	tokA := w.token(w.alice)
	sub := w.subscribe(svc, w.alice, tokA, "https://push.example/a", mustKeys(t), "all", "mention")

	if _, err := w.s.PushSubscription(ctx, w.tb, tokA); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("tenant B read A's subscription: %v", err)
	}
	keys := mustKeys(t)
	for _, o := range []push.Owner{
		{TenantID: w.tb, AccountID: w.carol.ID, TokenID: tokA, Bearer: "x"},      // B's account, A's token id
		{TenantID: w.ta, AccountID: w.bob.ID, TokenID: tokA, Bearer: "x"},        // A's other account
		{TenantID: w.tb, AccountID: w.alice.ID, TokenID: tokA, Bearer: "x"},      // the wrong tenant
		{TenantID: w.ta, AccountID: w.alice.ID, TokenID: tokA + 99, Bearer: "x"}, // no such token
	} {
		_, err := svc.Subscribe(ctx, o, push.Subscription{Endpoint: "https://evil.example/steal", P256DH: keys.P256DH(),
			Auth: keys.AuthSecret(), Alerts: push.Alerts{Enabled: []string{"mention"}}})
		if errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%+v subscribed: %v", o, err)
		}
	}
	if _, err := w.s.UpdatePushAlerts(ctx, w.tb, tokA, []string{}, "none"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("tenant B updated A's subscription: %v", err)
	}
	if err := w.s.DeletePushSubscription(ctx, w.tb, tokA); err != nil {
		t.Fatal(err)
	}
	got, err := w.s.PushSubscription(ctx, w.ta, tokA)
	if err != nil || got.ID != sub.ID || got.Endpoint != "https://push.example/a" || got.Policy != "all" ||
		!slices.Equal(got.Alerts, []string{"mention"}) {
		t.Fatalf("A's subscription changed: %+v, %v", got, err)
	}
}

// End to end below the API: a mention, a follow and a favourite reach a
// push service on loopback through the safe client, and the receiver
// decrypts Mastodon's payload with the subscription's own keys; a 500 is
// retried at the back-off time (the injected clock) and not before; a
// 410 ends the subscription.
func TestIssue17PushDeliveredAndDecrypted(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	r, err := pushtest.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	svc := &push.Service{Store: w.s}
	keys, err := svc.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.ServerKey = keys.Public
	now := time.Now().Add(time.Minute)
	d := &push.Deliverer{Store: w.s, Keys: svc, Now: func() time.Time { return now },
		Sender: &webpush.Sender{Fetch: fetch.New(fetch.Config{
			Resolve: map[string]string{"push.test": "http://" + r.Listener.Addr().String()}})},
		Base: func(domain string) string { return "https://" + domain }}
	tok := w.token(w.alice)
	sub := w.subscribe(svc, w.alice, tok, "http://push.test/p/alice", r.Keys, "all", "mention", "follow", "favourite")

	own := w.localPost(w.alice, "a post", federation.Public)
	w.localPost(w.bob, "hello @alice", federation.Public, w.alice)
	w.follow(w.bob, w.alice)
	if err := w.s.Favourite(ctx, w.bob.ID, own.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, p := range r.Pushes() {
		if p.Err != nil {
			t.Fatalf("push did not verify or decrypt: %v", p.Err)
		}
		var got push.Payload
		if err := json.Unmarshal(p.Payload, &got); err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != fmt.Sprintf("bearer-%d", tok) || got.NotificationID == 0 || got.Title == "" ||
			got.Icon != "https://a.example/avatars/original/missing.png" || got.PreferredLocale != "en" {
			t.Errorf("payload %+v", got)
		}
		types = append(types, got.NotificationType)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"favourite", "follow", "mention"}) {
		t.Fatalf("received %v", types)
	}
	if n := count(t, w.db, `select count(*) from push_deliveries`); n != 0 {
		t.Fatalf("%d pushes still pending after delivery", n)
	}

	// 500: kept for 30 s, then sent.
	r.Answer(http.StatusInternalServerError)
	w.localPost(w.bob, "again @alice", federation.Public, w.alice)
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.Pushes()) != 4 || count(t, w.db, `select count(*) from push_deliveries where attempts = 1`) != 1 {
		t.Fatal("the failed push was not kept for a retry")
	}
	now = now.Add(29 * time.Second)
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.Pushes()) != 4 {
		t.Fatal("retried before its back-off")
	}
	now = now.Add(2 * time.Second)
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.Pushes()) != 5 || count(t, w.db, `select count(*) from push_deliveries`) != 0 {
		t.Fatalf("after the back-off: %d received, want the retry delivered", len(r.Pushes()))
	}

	// 410: the subscription is gone.
	r.Answer(http.StatusGone)
	w.localPost(w.bob, "last @alice", federation.Public, w.alice)
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.PushSubscription(ctx, w.ta, tok); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("after 410 the subscription %d is still there: %v", sub.ID, err)
	}
}
