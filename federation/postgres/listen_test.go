package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// payloads collects what one relay handed on.
type payloads struct {
	mu   sync.Mutex
	list []string
}

func (p *payloads) add(_ context.Context, s string) {
	// The public page cache's events (migration 042) share the channel;
	// these tests are about streaming's.
	var kind struct{ E string }
	if json.Unmarshal([]byte(s), &kind) == nil && kind.E == "pages" {
		return
	}
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *payloads) count(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, x := range p.list {
		if x == s {
			n++
		}
	}
	return n
}

func (p *payloads) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.list)
}

type runningRelay struct {
	*fedpg.Relay
	got    *payloads
	cancel context.CancelFunc
	done   chan struct{}
}

func startRelay(t *testing.T, db *pgxpool.Pool) *runningRelay {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := &payloads{}
	r := &runningRelay{Relay: &fedpg.Relay{DB: db, Handle: got.add, Poll: 50 * time.Millisecond, Ping: time.Second},
		got: got, cancel: cancel, done: make(chan struct{})}
	go func() {
		r.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func (r *runningRelay) stop() {
	r.cancel()
	<-r.done
}

// waitFor polls cond (a liveness bound, not a timing check).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leaders(rs ...*runningRelay) []*runningRelay {
	var out []*runningRelay
	for _, r := range rs {
		if r.Leading() {
			out = append(out, r)
		}
	}
	return out
}

func notify(t *testing.T, db *pgxpool.Pool, payload string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `select pg_notify($1, $2)`, fedpg.StreamChannel, payload); err != nil {
		t.Fatal(err)
	}
}

// Every process runs a relay; exactly one relays each event, and another
// takes over when the leader stops or its connection dies.
func TestRelayElectsOneLeaderAndFailsOver(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	a, b := startRelay(t, db), startRelay(t, db)
	waitFor(t, "a leader", func() bool { return len(leaders(a, b)) == 1 })
	time.Sleep(200 * time.Millisecond) // the standby keeps polling and must stay standby
	if n := len(leaders(a, b)); n != 1 {
		t.Fatalf("%d leaders", n)
	}
	notify(t, db, "one")
	waitFor(t, "event one relayed", func() bool { return a.got.count("one")+b.got.count("one") == 1 })

	// The leader stops: the standby takes over.
	first := leaders(a, b)[0]
	second := a
	if first == a {
		second = b
	}
	first.stop()
	waitFor(t, "the standby to take over", second.Leading)
	notify(t, db, "two")
	waitFor(t, "event two relayed by the new leader", func() bool { return second.got.count("two") == 1 })

	// The leader's connection dies (its backend is terminated): a standby
	// takes the lock, and the old leader comes back as a standby.
	c := startRelay(t, db)
	time.Sleep(150 * time.Millisecond)
	if c.Leading() {
		t.Fatal("a new relay took the lead from a live leader")
	}
	if _, err := db.Exec(ctx, `select pg_terminate_backend(pid) from pg_locks
		where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	// The old leader may still think it leads until it notices; probe
	// until a live leader relays.
	waitFor(t, "a live leader after the connection died", func() bool {
		notify(t, db, "probe")
		time.Sleep(50 * time.Millisecond)
		return second.got.count("probe")+c.got.count("probe") > 0
	})
	waitFor(t, "one leader", func() bool { return len(leaders(second, c)) == 1 })
	notify(t, db, "three")
	waitFor(t, "event three relayed", func() bool { return second.got.count("three")+c.got.count("three") == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := second.got.count("three") + c.got.count("three"); n != 1 {
		t.Fatalf("event three relayed %d times", n)
	}
}

// streamWorld is two tenants: alice and bob on a.example, carol on
// b.example; bob and carol follow alice.
type streamWorld struct {
	db                *pgxpool.Pool
	s                 *fedpg.Store
	tenantA, tenantB  int64
	alice, bob, carol *federation.Account
	relay             *runningRelay
	seen              int
}

func newStreamWorld(t *testing.T) *streamWorld {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	w := &streamWorld{db: db, s: fedpg.New(db)}
	ta, tb := newTenant(t, db, "a.example"), newTenant(t, db, "b.example")
	w.tenantA, w.tenantB = ta.ID, tb.ID
	w.alice = mustCreate(t, w.s, newAccount(t, ta.ID, "a.example", "alice", "alice@a.example"))
	w.bob = mustCreate(t, w.s, newAccount(t, ta.ID, "a.example", "bob", "bob@a.example"))
	w.carol = mustCreate(t, w.s, newAccount(t, tb.ID, "b.example", "carol", "carol@b.example"))
	for _, f := range []*federation.Account{w.bob, w.carol} {
		if _, _, err := w.s.CreateFollow(ctx, f.ID, w.alice.ID, fmt.Sprintf("https://x/follows/%d", f.ID), "accepted"); err != nil {
			t.Fatal(err)
		}
	}
	w.relay = startRelay(t, db)
	waitFor(t, "the relay to lead", w.relay.Leading)
	return w
}

// streamEvent is a payload as migration 010 announces it.
type streamEvent struct {
	E    string   `json:"e"`
	ID   int64    `json:"id"`
	U    []int64  `json:"u"`
	C    []int64  `json:"c"`
	PL   []int64  `json:"pl"`
	PR   []int64  `json:"pr"`
	Tags []string `json:"tags"`
}

func (e streamEvent) String() string { b, _ := json.Marshal(e); return string(b) }

// expect waits for the events announced since the last call and compares
// them, in order, with want (ids of notifications are not compared).
func (w *streamWorld) expect(t *testing.T, want ...streamEvent) {
	t.Helper()
	var got []streamEvent
	waitFor(t, fmt.Sprintf("%d events", len(want)), func() bool { return len(w.relay.got.all())-w.seen >= len(want) })
	time.Sleep(100 * time.Millisecond) // and no more
	all := w.relay.got.all()
	for _, p := range all[w.seen:] {
		var e streamEvent
		if err := json.Unmarshal([]byte(p), &e); err != nil {
			t.Fatalf("payload %s: %v", p, err)
		}
		if e.E == "notification" {
			e.ID = 0
		}
		got = append(got, e)
	}
	w.seen = len(all)
	var gs, ws []string
	for _, e := range got {
		gs = append(gs, e.String())
	}
	for _, e := range want {
		ws = append(ws, e.String())
	}
	if !slices.Equal(gs, ws) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(gs, "\n"), strings.Join(ws, "\n"))
	}
}

func (w *streamWorld) post(t *testing.T, author *federation.Account, st federation.Status) *federation.Status {
	t.Helper()
	st.AccountID, st.TenantID = author.ID, author.TenantID
	st.Published = time.Now()
	out, _, err := w.s.Publish(context.Background(), &st, func(id int64) string { return fmt.Sprintf("https://a.example/s/%d", id) },
		func(s *federation.Status) (string, []byte, error) { return s.URI + "/activity", []byte(`{}`), nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The triggers of migration 010 announce each event once, to its
// audience, with ids only.
func TestStreamTriggers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStreamWorld(t)
	alice, bob, carol := w.alice.ID, w.bob.ID, w.carol.ID
	users := []int64{alice, bob, carol}
	slices.Sort(users)

	// A public post with a tag, mentioning bob: bob is notified; the home
	// feeds of alice and her followers (any tenant) and both tenants'
	// public timelines (a.example's as local) hear it.
	p := w.post(t, w.alice, federation.Status{Content: "<p>hello #Roost @bob</p>", Visibility: federation.Public,
		Tags: []string{"roost"}, MentionIDs: []int64{bob}, LocalMentionIDs: []int64{bob}})
	w.expect(t,
		streamEvent{E: "notification", U: []int64{bob}},
		streamEvent{E: "update", ID: p.ID, U: users},
		streamEvent{E: "update", ID: p.ID, PL: []int64{w.tenantA}, PR: []int64{w.tenantB}, Tags: []string{"roost"}},
	)

	// An edit: status.update to everyone who was shown it.
	if _, err := w.s.EditLocalStatus(ctx, p.URI, alice, federation.StatusEdit{Content: "<p>edited</p>", Text: "edited",
		Tags: []string{"roost"}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.expect(t,
		streamEvent{E: "status.update", ID: p.ID, U: users},
		streamEvent{E: "status.update", ID: p.ID, PL: []int64{w.tenantA}, PR: []int64{w.tenantB}, Tags: []string{"roost"}},
	)

	// A direct post to bob: a conversation for both, in both home feeds,
	// and a notification; no public stream hears it.
	d := w.post(t, w.alice, federation.Status{Content: "<p>psst @bob</p>", Visibility: federation.Direct,
		MentionIDs: []int64{bob}, LocalMentionIDs: []int64{bob}})
	w.expect(t,
		streamEvent{E: "notification", U: []int64{bob}},
		streamEvent{E: "conversation", ID: d.ID, C: []int64{alice, bob}},
		streamEvent{E: "update", ID: d.ID, U: []int64{alice, bob}},
	)

	// Deleting: delete to the same audiences, read before the cascade.
	if ok, err := w.s.DeleteStatusByURI(ctx, p.URI, alice); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	w.expect(t,
		streamEvent{E: "delete", ID: p.ID, U: users},
		streamEvent{E: "delete", ID: p.ID, PL: []int64{w.tenantA}, PR: []int64{w.tenantB}, Tags: []string{"roost"}},
	)

	// Filing an old status (a follow filling a feed) is not news.
	old := w.post(t, w.alice, federation.Status{Content: "<p>unlisted</p>", Visibility: federation.Unlisted})
	w.expect(t, streamEvent{E: "update", ID: old.ID, U: users})
	if _, err := w.db.Exec(ctx, `update statuses set created_at = now() - interval '1 day' where id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `delete from home_feeds where status_id = $1 and account_id = $2`, old.ID, carol); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `insert into home_feeds (account_id, status_id) values ($1, $2)`, carol, old.ID); err != nil {
		t.Fatal(err)
	}
	// A rolled-back transaction announces nothing.
	tx, err := w.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `delete from statuses where id = $1`, old.ID); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	notify(t, w.db, `{"e":"update","id":1}`) // a marker: nothing came before it
	w.expect(t, streamEvent{E: "update", ID: 1})
}

// A status filed in many home feeds is announced in payloads that stay
// far below PostgreSQL's 8000-byte limit.
func TestStreamLargeAudienceIsSplit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStreamWorld(t)
	p := w.post(t, w.alice, federation.Status{Content: "<p>hi</p>", Visibility: federation.Unlisted})
	w.expect(t, streamEvent{E: "update", ID: p.ID, U: sorted(w.alice.ID, w.bob.ID, w.carol.ID)})
	// 700 feeds at once (their owners need not be real for the trigger).
	if _, err := w.db.Exec(ctx, `delete from home_feeds where status_id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `alter table home_feeds disable trigger all`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `alter table home_feeds enable trigger stream_home_feeds`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `insert into home_feeds (account_id, status_id)
		select 1000000000000 + g, $1 from generate_series(1, 700) g`, p.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three payloads", func() bool { return len(w.relay.got.all())-w.seen == 3 })
	total := 0
	for _, pl := range w.relay.got.all()[w.seen:] {
		var e streamEvent
		if err := json.Unmarshal([]byte(pl), &e); err != nil || e.ID != p.ID || len(pl) > 8000 {
			t.Fatalf("payload (%d bytes) %s: %v", len(pl), pl, err)
		}
		total += len(e.U)
	}
	if total != 700 {
		t.Fatalf("%d accounts announced, want 700", total)
	}
}

func sorted(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}
