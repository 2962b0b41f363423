package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// roundTrips is a pgx tracer counting what a connection sends and waits
// for: each query or exec (begin and commit included) and each pipelined
// batch is one round trip.
type roundTrips struct {
	mu   sync.Mutex
	sent []string
}

func (r *roundTrips) add(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, strings.Join(strings.Fields(what), " "))
}

// take returns what was sent since the last take.
func (r *roundTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sent
	r.sent = nil
	return out
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	r.add(fmt.Sprintf("batch of %d", d.Batch.Len()))
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// tracedWorld is a moreWorld whose store runs on one traced connection
// (statements prepared once, as on a warm pool).
func tracedWorld(t *testing.T) (*moreWorld, *roundTrips) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer, cfg.MaxConns = rt, 1
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := fedpg.New(db)
	a, b := newTenant(t, db, "a.example"), newTenant(t, db, "b.example")
	w := &moreWorld{t: t, db: db, s: s, ta: a.ID, tb: b.ID}
	w.alice = mustCreate(t, s, newAccount(t, a.ID, "a.example", "alice", "alice@a.example"))
	w.bob = mustCreate(t, s, newAccount(t, a.ID, "a.example", "bob", "bob@a.example"))
	w.carol = mustCreate(t, s, newAccount(t, b.ID, "b.example", "carol", "carol@b.example"))
	return w, rt
}

// Issue 21, posting: the post's transaction went to PostgreSQL and back
// once per statement — begin, the id, the insert, an update of its
// source, the key, the mentions, a media detach a new post never needs,
// the home feeds, the tenant timelines, the fan-out row and its notify,
// the remote inboxes, the deliveries, commit: 14 round trips, each two
// wake-ups waiting for a core on a loaded machine. Now: begin, the id,
// one pipelined batch, the deliveries (only with remote inboxes),
// commit. Every effect is still there.
func TestIssue21PostTransactionRoundTrips(t *testing.T) {
	w, rt := tracedWorld(t)
	ctx := context.Background()
	followers := w.seedFollowers(w.ta, "a.example", "f", w.alice, fedpg.HomeFanOutInline+5, true)
	w.follow(w.carol, w.alice)
	w.follow(w.remote("rem"), w.alice)
	uri := func(id int64) string { return fmt.Sprintf("https://a.example/users/alice/statuses/%d", id) }
	render := func(st *federation.Status) (string, []byte, error) { return st.URI + "/activity", []byte(`{}`), nil }
	post := func(key string) (*federation.Status, []int64) {
		t.Helper()
		st, ids, err := w.s.Publish(ctx, &federation.Status{AccountID: w.alice.ID, TenantID: w.alice.TenantID,
			Text: "hello @bob", Content: "<p>hello @bob</p>", Visibility: federation.Public, IdempotencyKey: key,
			MentionIDs: []int64{w.bob.ID}, LocalMentionIDs: []int64{w.bob.ID}}, uri, render)
		if err != nil {
			t.Fatal(err)
		}
		return st, ids
	}
	post("warm-up") // prepares the statements, as a web node's first post does
	rt.take()
	st, deliveries := post("counted")
	sent := rt.take()
	const budget = 5 // begin, nextval, the batch, the deliveries, commit
	if len(sent) > budget {
		t.Errorf("the post's transaction took %d round trips, want at most %d:\n%s", len(sent), budget, strings.Join(sent, "\n"))
	}

	// What the batch did, all of it.
	if len(deliveries) != 1 {
		t.Errorf("%d delivery rows, want 1 (the remote follower's inbox)", len(deliveries))
	}
	if id, err := w.s.IdempotentStatus(ctx, w.alice.ID, "counted"); err != nil || id != st.ID {
		t.Errorf("Idempotency-Key remembered as %d (%v), want %d", id, err, st.ID)
	}
	if n := count(t, w.db, `select count(*) from notifications where account_id = $1 and status_id = $2 and type = 'mention'`,
		w.bob.ID, st.ID); n != 1 {
		t.Errorf("bob has %d mention notifications of the post, want 1", n)
	}
	local := append([]int64{w.carol.ID}, followers...) // carol, on tenant B, was created first
	sameIDs(t, "followers reached at commit", w.holders(st.ID, local), local[:fedpg.HomeFanOutInline])
	if n := count(t, w.db, `select count(*) from tenant_timeline where status_id = $1 and tenant_id = $2 and not local`,
		st.ID, w.tb); n != 1 {
		t.Errorf("carol's tenant timeline holds the post %d times, want once (as a post from elsewhere)", n)
	}
	if n := count(t, w.db, `select count(*) from home_fanouts where status_id = $1`, st.ID); n != 1 {
		t.Errorf("%d fan-outs queued for the rest, want 1", n)
	}
	if n := count(t, w.db, `select count(*) from tenant_timeline where status_id = $1 and tenant_id = $2 and local`,
		st.ID, w.ta); n != 1 {
		t.Errorf("the author's tenant timeline holds the post %d times, want once", n)
	}
	if n := count(t, w.db, `select count(*) from statuses where id = $1 and text = 'hello @bob'`, st.ID); n != 1 {
		t.Error("the post's source text was not stored")
	}
	if !slices.Contains(w.home(w.alice), st.ID) || !slices.Contains(w.home(w.bob), st.ID) {
		t.Error("the author's or the mentioned account's home misses the post")
	}
}

// Issue 21: every signed-in request loads its own account by id, which
// asked for the remote form first and then, for a local account, went
// back for the local one. One round trip now, for either.
func TestIssue21AccountByIDOneRoundTrip(t *testing.T) {
	w, rt := tracedWorld(t)
	ctx := context.Background()
	remote := w.remote("rem")
	for _, want := range []*federation.Account{w.alice, remote, w.alice, remote} {
		rt.take()
		got, err := w.s.AccountByID(ctx, want.ID)
		if err != nil || got.ID != want.ID || got.Local() != want.Local() {
			t.Fatalf("AccountByID(%d) = %+v, %v", want.ID, got, err)
		}
		if sent := rt.take(); len(sent) != 1 {
			t.Errorf("AccountByID(%d) took %d round trips, want 1: %v", want.ID, len(sent), sent)
		}
	}
	if _, err := w.s.AccountByID(ctx, remote.ID+1000); err == nil {
		t.Error("a missing account was found")
	}
}
