package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// world is tenant "a.example" with local alice (and locked lou), and the
// cached remote actors eve and mallory on remote.test.
type world struct {
	db       *pgxpool.Pool
	proc     *inbox.Processor
	store    *fedpg.Store
	tenantID int64
	alice    *federation.Account
	eve, mal *federation.Account
	n        int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	testKeys(t)
	ctx := context.Background()
	db := testenv.DB(t)
	tenants := tenantpg.New(db)
	tn, err := tenants.CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	store := fedpg.New(db)
	w := &world{db: db, store: store, tenantID: tn.ID}
	for _, name := range []string{"alice", "lou"} {
		kp, _ := federation.GenerateKeyPair()
		a, err := store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: name,
			Email: name + "@a.example", Password: "x", PasswordHash: "x", Keys: kp})
		if err != nil {
			t.Fatal(err)
		}
		if name == "alice" {
			w.alice = a
		}
	}
	db.Exec(ctx, `update accounts set locked = true where username = 'lou'`)
	for _, name := range []string{"eve", "mallory"} {
		id := "https://remote.test/users/" + name
		a, err := store.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.test", Username: name, PublicKeyPEM: pemA,
			Remote: &federation.RemoteInfo{URI: id, KeyID: id + "#main-key", Inbox: id + "/inbox",
				SharedInbox: "https://remote.test/inbox", Followers: id + "/followers", Type: "Person", FetchedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		if name == "eve" {
			w.eve = a
		} else {
			w.mal = a
		}
	}
	redis, prefix := testenv.Redis(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.proc = &inbox.Processor{Items: store, Follows: store, Actors: store, Statuses: store, Social: store, Log: log,
		Locals: &inbox.SiteLocals{Sites: tenant.NewHostCache(tenants, time.Minute, 100), Accounts: store, Scheme: "https"},
		Send:   &delivery.Queue{Store: store, Redis: redis, Prefix: prefix, Log: log}}
	return w
}

// deliver queues an activity from actor and processes the queue; it
// returns the item's recorded outcome ("" when applied).
func (w *world) deliver(t *testing.T, actor *federation.Account, activity map[string]any) string {
	t.Helper()
	w.n++
	if activity["id"] == nil {
		activity["id"] = fmt.Sprintf("%s#activity-%d", actor.Remote.URI, w.n)
	}
	activity["actor"] = actor.Remote.URI
	body, _ := json.Marshal(activity)
	ctx := context.Background()
	if _, err := w.store.Enqueue(ctx, w.tenantID, activity["id"].(string), actor.Remote.URI, body); err != nil {
		t.Fatal(err)
	}
	if _, err := w.proc.Once(ctx, 10); err != nil {
		t.Fatal(err)
	}
	var reason *string
	var processed bool
	w.db.QueryRow(ctx, `select processed_at is not null, last_error from inbox_items where activity_id = $1`, activity["id"]).Scan(&processed, &reason)
	if !processed {
		t.Fatalf("activity %v was not processed", activity["id"])
	}
	if reason == nil {
		return ""
	}
	return *reason
}

func (w *world) one(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var v any
	if err := w.db.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(v)
}

const aliceURI = "https://a.example/users/alice"

func note(id, author, content string, to, cc []string) map[string]any {
	return map[string]any{"id": id, "type": "Note", "attributedTo": author, "content": content,
		"published": "2026-11-27T10:00:00Z", "to": to, "cc": cc}
}

func TestFollowUndoAndLockedAccounts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	follow := map[string]any{"type": "Follow", "object": aliceURI, "id": "https://remote.test/f/1"}
	if r := w.deliver(t, w.eve, follow); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select state from follows where follower_id = $1 and followee_id = $2`, w.eve.ID, w.alice.ID); got != "accepted" {
		t.Fatalf("follow state %s", got)
	}
	if got := w.one(t, `select inbox_url || ' ' || express::text from deliveries where activity_id like $1`, aliceURI+"#accepts/follows/%"); got != "https://remote.test/users/eve/inbox true" {
		t.Fatalf("Accept delivery: %s", got)
	}
	w.deliver(t, w.eve, map[string]any{"type": "Follow", "object": "https://a.example/users/lou", "id": "https://remote.test/f/2"})
	if got := w.one(t, `select state from follows f join accounts l on l.id = f.followee_id where l.username = 'lou'`); got != "pending" {
		t.Fatalf("follow of a locked account: %s", got)
	}
	// Undo by someone else is refused; by eve it removes the follow.
	w.deliver(t, w.mal, map[string]any{"type": "Undo", "object": map[string]any{"type": "Follow", "actor": w.eve.Remote.URI, "object": aliceURI}})
	w.deliver(t, w.eve, map[string]any{"type": "Undo", "object": map[string]any{"type": "Follow", "id": "https://remote.test/f/1", "actor": w.eve.Remote.URI, "object": aliceURI}})
	if got := w.one(t, `select count(*) from follows where followee_id = $1`, w.alice.ID); got != "0" {
		t.Fatalf("%s follows left after Undo", got)
	}
}

// SECURITY 7: posts are accepted only from their authors, edits and
// deletions only by them.
func TestCreateUpdateDeleteOnlyByAuthor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.store.CreateFollow(ctx, w.alice.ID, w.eve.ID, "https://a.example/f/1", federation.FollowAccepted)
	public := []string{federation.PublicCollection}
	n1 := note("https://remote.test/notes/1", w.eve.Remote.URI, "<p>hi <script>x</script></p>", public, nil)
	if r := w.deliver(t, w.eve, map[string]any{"type": "Create", "object": n1}); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select s.visibility || ' ' || s.content from home_feeds h join statuses s on s.id = h.status_id
		where h.account_id = $1`, w.alice.ID); got != "public <p>hi </p>" {
		t.Fatalf("alice's feed: %s", got)
	}
	// mallory creating a note attributed to eve, or on another host.
	forged := note("https://remote.test/notes/2", w.eve.Remote.URI, "forged", public, nil)
	if r := w.deliver(t, w.mal, map[string]any{"type": "Create", "object": forged}); r == "" {
		t.Fatal("a Create of someone else's note was applied")
	}
	elsewhere := note("https://other.test/notes/3", "https://other.test/users/eve", "elsewhere", public, nil)
	if r := w.deliver(t, w.eve, map[string]any{"type": "Create", "object": elsewhere}); r == "" {
		t.Fatal("a Create of a note on another host was applied")
	}
	// Update and Delete by mallory change nothing.
	edit := note("https://remote.test/notes/1", w.eve.Remote.URI, "edited", public, nil)
	edit["updated"] = "2026-11-27T11:00:00Z"
	if r := w.deliver(t, w.mal, map[string]any{"type": "Update", "object": edit}); r == "" {
		t.Fatal("mallory's Update of eve's note was applied")
	}
	if r := w.deliver(t, w.mal, map[string]any{"type": "Delete", "object": "https://remote.test/notes/1"}); r == "" {
		t.Fatal("mallory's Delete of eve's note was applied")
	}
	if got := w.one(t, `select content from statuses where uri = 'https://remote.test/notes/1'`); got != "<p>hi </p>" {
		t.Fatalf("content after foreign Update/Delete: %s", got)
	}
	if got := w.one(t, `select count(*) from statuses`); got != "1" {
		t.Fatalf("%s statuses stored, want only eve's one", got)
	}
	// eve's own Update and Delete apply.
	if r := w.deliver(t, w.eve, map[string]any{"type": "Update", "object": edit}); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select content || ' ' || (edited_at is not null)::text from statuses`); got != "edited true" {
		t.Fatalf("after eve's Update: %s", got)
	}
	if r := w.deliver(t, w.eve, map[string]any{"type": "Delete", "object": map[string]any{"id": "https://remote.test/notes/1", "type": "Tombstone"}}); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select count(*) from statuses`); got != "0" {
		t.Fatalf("%s statuses after Delete", got)
	}
}

func TestLikeAnnounceBlockFlagAndDeletePerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	public := []string{federation.PublicCollection}
	w.deliver(t, w.eve, map[string]any{"type": "Create", "object": note("https://remote.test/notes/9", w.eve.Remote.URI, "x", public, nil)})

	w.deliver(t, w.mal, map[string]any{"type": "Like", "object": "https://remote.test/notes/9", "id": "https://remote.test/likes/1"})
	if got := w.one(t, `select count(*) from favourites`); got != "1" {
		t.Fatalf("%s likes", got)
	}
	w.deliver(t, w.mal, map[string]any{"type": "Undo", "object": map[string]any{"type": "Like", "id": "https://remote.test/likes/1", "actor": w.mal.Remote.URI, "object": "https://remote.test/notes/9"}})
	if got := w.one(t, `select count(*) from favourites`); got != "0" {
		t.Fatalf("%s likes after Undo", got)
	}

	w.deliver(t, w.mal, map[string]any{"type": "Announce", "object": "https://remote.test/notes/9", "id": "https://remote.test/boosts/1", "to": public})
	if got := w.one(t, `select count(*) from statuses where reblog_of_id is not null and account_id = $1`, w.mal.ID); got != "1" {
		t.Fatalf("%s boosts", got)
	}
	w.deliver(t, w.mal, map[string]any{"type": "Undo", "object": map[string]any{"type": "Announce", "id": "https://remote.test/boosts/1", "actor": w.mal.Remote.URI}})
	if got := w.one(t, `select count(*) from statuses where reblog_of_id is not null`); got != "0" {
		t.Fatalf("%s boosts after Undo", got)
	}

	w.store.CreateFollow(ctx, w.alice.ID, w.eve.ID, "https://a.example/f/2", federation.FollowAccepted)
	w.deliver(t, w.eve, map[string]any{"type": "Block", "object": aliceURI, "id": "https://remote.test/blocks/1"})
	if got := w.one(t, `select count(*) from blocks where account_id = $1 and target_id = $2`, w.eve.ID, w.alice.ID); got != "1" {
		t.Fatal("block not recorded")
	}
	if got := w.one(t, `select count(*) from follows`); got != "0" {
		t.Fatalf("%s follows survive a block", got)
	}

	w.deliver(t, w.mal, map[string]any{"type": "Flag", "object": []any{aliceURI}, "content": "spam <b>!</b>", "id": "https://remote.test/flags/1"})
	if got := w.one(t, `select tenant_id = $1 and target_account_id = $2 and comment = 'spam <b>!</b>' from reports`, w.tenantID, w.alice.ID); got != "true" {
		t.Fatalf("report: %s", got)
	}

	w.deliver(t, w.eve, map[string]any{"type": "Delete", "object": w.eve.Remote.URI})
	if got := w.one(t, `select count(*) from accounts where id = $1`, w.eve.ID); got != "0" {
		t.Fatal("Delete(Person) left the actor")
	}
	if got := w.one(t, `select count(*) from statuses`); got != "0" {
		t.Fatalf("Delete(Person) left %s statuses", got)
	}
}

// Move: local followers follow the new account only when it confirms the
// old one in alsoKnownAs.
func TestMoveIsFollowedWhenConfirmed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	r := newRemote(t)
	r.setKey("newme", pemB)
	r.setKey("liar", pemB)
	r.mu.Lock()
	r.aka["newme"] = []string{w.eve.Remote.URI}
	r.mu.Unlock()
	w.proc.Keys = &actors.Keys{Store: w.store, Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"remote.test": r.addr}})}
	w.proc.Movers = w.store
	w.store.CreateFollow(ctx, w.alice.ID, w.eve.ID, "https://a.example/f/9", federation.FollowAccepted)

	// A target that does not name eve: nothing moves.
	if got := w.deliver(t, w.eve, map[string]any{"type": "Move", "object": w.eve.Remote.URI, "target": "http://remote.test/users/liar"}); got == "" {
		t.Fatal("a Move to an account not naming the mover was applied")
	}
	if got := w.one(t, `select count(*) from follows where follower_id = $1 and followee_id = $2`, w.alice.ID, w.eve.ID); got != "1" {
		t.Fatal("alice stopped following eve after a refused Move")
	}
	// Someone else moving eve: refused.
	if got := w.deliver(t, w.mal, map[string]any{"type": "Move", "object": w.eve.Remote.URI, "target": "http://remote.test/users/newme"}); got == "" {
		t.Fatal("mallory moved eve")
	}
	if got := w.one(t, `select coalesce(moved_to_uri, '') from accounts where id = $1`, w.eve.ID); got != "" {
		t.Fatalf("a refused Move recorded eve as moved to %q", got)
	}
	if got := w.deliver(t, w.eve, map[string]any{"type": "Move", "object": w.eve.Remote.URI, "target": "http://remote.test/users/newme"}); got != "" {
		t.Fatal(got)
	}
	// The old account says where it went; the new one's alsoKnownAs, from
	// its document, is stored with it.
	if got := w.one(t, `select coalesce(moved_to_uri, '') from accounts where id = $1`, w.eve.ID); got != "http://remote.test/users/newme" {
		t.Fatalf("eve moved_to_uri %q after her Move", got)
	}
	if got := w.one(t, `select array_to_string(also_known_as, ',') from accounts where uri = 'http://remote.test/users/newme'`); got != w.eve.Remote.URI {
		t.Fatalf("new account's also_known_as %q", got)
	}
	if got := w.one(t, `select f.state from follows f join accounts n on n.id = f.followee_id
		where f.follower_id = $1 and n.uri = 'http://remote.test/users/newme'`, w.alice.ID); got != "pending" {
		t.Fatalf("alice's follow of the new account: %s", got)
	}
	if got := w.one(t, `select count(*) from follows where follower_id = $1 and followee_id = $2`, w.alice.ID, w.eve.ID); got != "0" {
		t.Fatal("alice still follows the old account")
	}
	if got := w.one(t, `select count(*) from deliveries where inbox_url = 'http://remote.test/users/newme/inbox'`); got != "1" {
		t.Fatalf("%s Follow deliveries to the new account, want 1", got)
	}
}

// An actor's Update of itself carries its movedTo and alsoKnownAs, which
// are stored with it; a later Update without them clears them.
func TestUpdatePersonStoresMovedTo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	uri := w.mal.Remote.URI
	person := func(extra map[string]any) map[string]any {
		p := map[string]any{"id": uri, "type": "Person", "preferredUsername": w.mal.Username, "inbox": uri + "/inbox",
			"publicKey": map[string]any{"id": uri + "#main-key", "owner": uri, "publicKeyPem": pemA}}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	if got := w.deliver(t, w.mal, map[string]any{"type": "Update", "object": person(map[string]any{
		"movedTo": "https://remote.test/users/mal2", "alsoKnownAs": []string{"https://older.test/users/mal"}})}); got != "" {
		t.Fatal(got)
	}
	if got := w.one(t, `select coalesce(moved_to_uri, '') || ' ' || array_to_string(also_known_as, ',') from accounts where id = $1`, w.mal.ID); got != "https://remote.test/users/mal2 https://older.test/users/mal" {
		t.Fatalf("after Update with movedTo: %q", got)
	}
	if got := w.deliver(t, w.mal, map[string]any{"type": "Update", "object": person(nil)}); got != "" {
		t.Fatal(got)
	}
	if got := w.one(t, `select coalesce(moved_to_uri, '') || array_to_string(also_known_as, ',') from accounts where id = $1`, w.mal.ID); got != "" {
		t.Fatalf("after Update without movedTo: %q", got)
	}
}
