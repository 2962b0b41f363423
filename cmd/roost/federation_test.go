package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/testenv"
)

// node is one Roost instance: its own database and Redis prefix, a web
// node and a worker process.
type node struct {
	env   []string
	db    string
	procs []*exec.Cmd
	logs  []*bytes.Buffer
}

func startNode(t *testing.T, name, addr, resolve string) *node {
	t.Helper()
	n := &node{db: testenv.DatabaseURL(t)}
	n.env = []string{
		"ROOST_DATABASE_URL=" + n.db,
		"ROOST_REDIS_URL=" + testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:%s:", os.Getpid(), name),
		"ROOST_HTTP_ADDR=" + addr,
		"ROOST_URL_SCHEME=http",
		"ROOST_FEDERATION_RESOLVE=" + resolve,
		"ROOST_LOG_LEVEL=debug",
		"ROOST_MEDIA_DIR=" + t.TempDir(),
	}
	return n
}

func (n *node) run(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := roost(t, n.env, args...)
	if code != 0 {
		t.Fatalf("roost %v: exit %d\n%s", args, code, stderr)
	}
	return out
}

func (n *node) start(t *testing.T, cmd string) {
	t.Helper()
	c := exec.Command(roostBin(t), cmd)
	c.Env = append(cleanEnv(), n.env...)
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	n.procs = append(n.procs, c)
	n.logs = append(n.logs, &buf)
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", cmd, buf.String())
		}
	})
}

// query runs one scalar query against the node's database.
func (n *node) query(t *testing.T, sql string, args ...any) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), n.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v any
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprint(v)
}

// eventually polls until query answers want (a liveness bound, not timing).
func (n *node) eventually(t *testing.T, want, sql string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := n.query(t, sql, args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", sql, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two Roost instances on loopback, separate databases and tenants,
// federate over real signed HTTP: alice@a.test follows bob@b.test; B
// verifies alice's signature with her key fetched from A, records the
// follow and answers Accept; A verifies that and marks the follow accepted.
func TestFederationFollowBetweenTwoNodes(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "a", addrA, resolve)
	b := startNode(t, "b", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", "long enough password")
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", "long enough password")
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)

	out := a.run(t, "follow", "--account", "alice@a.test", "--target", "bob@b.test")
	if !strings.HasPrefix(out, "pending http://a.test/users/alice#follows/") {
		t.Fatalf("follow: %q", out)
	}
	// B: a remote alice, with A's key, follows bob, accepted.
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.follower_id
		join accounts l on l.id = f.followee_id where r.uri = 'http://a.test/users/alice' and l.username = 'bob'`)
	// The item is finished just after the follow is applied.
	b.eventually(t, "1", `select count(*) from inbox_items where processed_at is not null and last_error is null`)
	// A: bob's Accept arrived, was verified and applied.
	a.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		where r.uri = 'http://b.test/users/bob'`)
	a.eventually(t, "delivered", `select state from deliveries where activity_id like 'http://a.test/users/alice#follows/%'`)
	b.eventually(t, "delivered", `select state from deliveries where activity_id like 'http://b.test/users/bob#accepts/follows/%'`)

	// bob posts for followers only; alice (his follower) gets it on A.
	private := strings.TrimSpace(b.run(t, "post", "--account", "bob@b.test", "--text", "for followers", "--visibility", "private"))
	a.eventually(t, "private <p>for followers</p>", `select s.visibility || ' ' || s.content from home_feeds h
		join statuses s on s.id = h.status_id join accounts l on l.id = h.account_id
		where l.username = 'alice' and s.uri = $1`, private)
	// A followers-only post is not served to anonymous fetches.
	waitHTTP(t, "http://"+addrB+strings.TrimPrefix(private, "http://b.test"), "b.test", 404)

	// The other way round: bob follows alice, alice posts in public.
	b.run(t, "follow", "--account", "bob@b.test", "--target", "alice@a.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		where r.uri = 'http://a.test/users/alice'`)
	uri := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "Hello from A <b>not bold</b>"))
	if !strings.HasPrefix(uri, "http://a.test/users/alice/statuses/") {
		t.Fatalf("post: %q", uri)
	}
	b.eventually(t, "public <p>Hello from A &lt;b&gt;not bold&lt;/b&gt;</p>", `select s.visibility || ' ' || s.content
		from home_feeds h join statuses s on s.id = h.status_id join accounts l on l.id = h.account_id
		where l.username = 'bob' and s.uri = $1`, uri)
	// The Note is served at its id for anyone who fetches it.
	note := waitHTTP(t, "http://"+addrA+strings.TrimPrefix(uri, "http://a.test"), "a.test", 200)
	if !strings.Contains(string(note), `"type":"Note"`) || !strings.Contains(string(note), `"attributedTo":"http://a.test/users/alice"`) {
		t.Fatalf("note: %s", note)
	}
	// Collections: public posts only, followers by URI, paged.
	outboxA := string(waitHTTP(t, "http://"+addrA+"/users/alice/outbox?page=true", "a.test", 200))
	if !strings.Contains(outboxA, uri) || !strings.Contains(outboxA, `"type":"OrderedCollectionPage"`) {
		t.Fatalf("alice's outbox lacks her public post: %s", outboxA)
	}
	outboxB := string(waitHTTP(t, "http://"+addrB+"/users/bob/outbox", "b.test", 200))
	if !strings.Contains(outboxB, `"totalItems":0`) {
		t.Fatalf("bob's outbox shows his followers-only post: %s", outboxB)
	}
	if strings.Contains(string(waitHTTP(t, "http://"+addrB+"/users/bob/outbox?page=true", "b.test", 200)), private) {
		t.Fatal("a followers-only post is listed in the outbox")
	}
	followersA := string(waitHTTP(t, "http://"+addrA+"/users/alice/followers?page=true", "a.test", 200))
	if !strings.Contains(followersA, `"orderedItems":["http://b.test/users/bob"]`) {
		t.Fatalf("alice's followers: %s", followersA)
	}
	followingB := string(waitHTTP(t, "http://"+addrB+"/users/bob/following", "b.test", 200))
	if !strings.Contains(followingB, `"totalItems":1`) {
		t.Fatalf("bob's following: %s", followingB)
	}
	// The instance actor that signs the site's fetches is served.
	actor := string(waitHTTP(t, "http://"+addrA+"/actor", "a.test", 200))
	if !strings.Contains(actor, `"id":"http://a.test/actor"`) || !strings.Contains(actor, `"type":"Application"`) ||
		!strings.Contains(actor, "BEGIN PUBLIC KEY") {
		t.Fatalf("instance actor: %s", actor)
	}
	// alice's own feed has her post (local delivery in the posting transaction).
	a.eventually(t, "1", `select count(*) from home_feeds h join statuses s on s.id = h.status_id
		join accounts l on l.id = h.account_id where l.username = 'alice' and s.uri = $1`, uri)

	// A direct message with a mention and a hashtag reaches only bob.
	dm := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "psst @bob@b.test #Secret", "--visibility", "direct"))
	b.eventually(t, "direct {http://b.test/users/bob} {secret}", `select s.visibility || ' ' || s.mentions::text || ' ' || s.tags::text
		from home_feeds h join statuses s on s.id = h.status_id join accounts l on l.id = h.account_id
		where l.username = 'bob' and s.uri = $1`, dm)
	if got := b.query(t, `select content like '%class="u-url mention"%' from statuses where uri = $1`, dm); got != "true" {
		t.Fatalf("the mention is not linked in the delivered content")
	}

	// bob replies, likes and boosts; A records each.
	reply := strings.TrimSpace(b.run(t, "post", "--account", "bob@b.test", "--text", "nice post", "--reply-to", uri))
	a.eventually(t, uri, `select in_reply_to_uri from statuses where uri = $1`, reply)
	b.run(t, "do", "like", "--account", "bob@b.test", "--target", uri)
	a.eventually(t, "1", `select count(*) from favourites f join statuses s on s.id = f.status_id where s.uri = $1`, uri)
	b.run(t, "do", "boost", "--account", "bob@b.test", "--target", uri)
	a.eventually(t, "1", `select count(*) from statuses r join statuses s on s.id = r.reblog_of_id where s.uri = $1`, uri)
	b.run(t, "do", "unlike", "--account", "bob@b.test", "--target", uri)
	a.eventually(t, "0", `select count(*) from favourites`)
	b.run(t, "do", "unboost", "--account", "bob@b.test", "--target", uri)
	a.eventually(t, "0", `select count(*) from statuses where reblog_of_id is not null`)
	// alice edits, then deletes her post; B follows both.
	a.run(t, "do", "edit", "--account", "alice@a.test", "--target", uri, "--text", "Hello, edited")
	b.eventually(t, "<p>Hello, edited</p> true", `select content || ' ' || (edited_at is not null)::text from statuses where uri = $1`, uri)
	a.run(t, "do", "delete", "--account", "alice@a.test", "--target", uri)
	b.eventually(t, "0", `select count(*) from statuses where uri = $1`, uri)
	// alice unfollows bob, then blocks him: B drops the follow and records the block.
	a.run(t, "do", "unfollow", "--account", "alice@a.test", "--target", "bob@b.test")
	b.eventually(t, "0", `select count(*) from follows f join accounts r on r.id = f.follower_id where r.uri = 'http://a.test/users/alice'`)

	// alice moves to alice2@b.test; bob, her follower on B, follows the new
	// account once B has checked alice2's alsoKnownAs.
	b.run(t, "account", "create", "--domain", "b.test", "--username", "alice2", "--email", "alice2@b.test", "--password", "long enough password")
	b.run(t, "alias", "--account", "alice2@b.test", "--add", "alice@a.test")
	a.run(t, "move", "--account", "alice@a.test", "--to", "alice2@b.test")
	b.eventually(t, "alice2:accepted", `select string_agg(e.username || ':' || f.state, ',') from follows f
		join accounts r on r.id = f.follower_id join accounts e on e.id = f.followee_id
		where r.username = 'bob' and r.tenant_id is not null`)

	a.run(t, "do", "block", "--account", "alice@a.test", "--target", "bob@b.test")
	b.eventually(t, "1", `select count(*) from blocks k join accounts r on r.id = k.account_id
		join accounts l on l.id = k.target_id where r.uri = 'http://a.test/users/alice' and l.username = 'bob'`)
}

// Two tenants on one node: follows and posts between them are delivered
// in-process (no HTTP, no delivery rows) with the same outcomes.
func TestLocalDeliveryBetweenTenantsOnOneNode(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "local", addr, "")
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "C", "--domain", "c.test")
	n.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", "long enough password")
	n.run(t, "account", "create", "--domain", "c.test", "--username", "carol", "--email", "carol@c.test", "--password", "long enough password")
	n.start(t, "serve")

	if out := n.run(t, "follow", "--account", "alice@a.test", "--target", "carol@c.test"); !strings.HasPrefix(out, "accepted ") {
		t.Fatalf("local follow: %q", out)
	}
	if out := n.run(t, "follow", "--account", "carol@c.test", "--target", "http://a.test/users/alice"); !strings.HasPrefix(out, "accepted ") {
		t.Fatalf("local follow by URI: %q", out)
	}
	pub := strings.TrimSpace(n.run(t, "post", "--account", "carol@c.test", "--text", "hello neighbours"))
	priv := strings.TrimSpace(n.run(t, "post", "--account", "carol@c.test", "--text", "just followers", "--visibility", "private"))
	mine := strings.TrimSpace(n.run(t, "post", "--account", "alice@a.test", "--text", "hi carol"))
	for _, c := range []struct{ user, uri string }{{"alice", pub}, {"alice", priv}, {"carol", mine}, {"carol", pub}} {
		if got := n.query(t, `select count(*) from home_feeds h join statuses s on s.id = h.status_id
			join accounts a on a.id = h.account_id where a.username = $1 and s.uri = $2`, c.user, c.uri); got != "1" {
			t.Errorf("%s's feed has %s %s times, want 1", c.user, c.uri, got)
		}
	}
	// A local direct mention on another tenant: local delivery too.
	dm := strings.TrimSpace(n.run(t, "post", "--account", "carol@c.test", "--text", "@alice@a.test only you", "--visibility", "direct"))
	if got := n.query(t, `select string_agg(a.username, ',' order by a.username) from home_feeds h
		join statuses s on s.id = h.status_id join accounts a on a.id = h.account_id where s.uri = $1`, dm); got != "alice,carol" {
		t.Fatalf("direct post in the feeds of %q, want alice,carol", got)
	}
	if got := n.query(t, `select count(*) from deliveries`); got != "0" {
		t.Fatalf("%s delivery rows for local traffic, want 0", got)
	}
	if got := n.query(t, `select count(*) from accounts where tenant_id is null`); got != "0" {
		t.Fatalf("local accounts were cached as %s remote actors", got)
	}
	followers := string(waitHTTP(t, "http://"+addr+"/users/carol/followers?page=true", "c.test", 200))
	if !strings.Contains(followers, `"orderedItems":["http://a.test/users/alice"]`) {
		t.Fatalf("carol's followers: %s", followers)
	}

	// alice moves to al@c.test: refused until al lists her as an alias;
	// then carol, her follower, follows al instead.
	n.run(t, "account", "create", "--domain", "c.test", "--username", "al", "--email", "alice@a.test", "--password", "long enough password")
	if code, _, stderr := roost(t, n.env, "move", "--account", "alice@a.test", "--to", "al@c.test"); code == 0 || !strings.Contains(stderr, "alias") {
		t.Fatalf("move without alias: exit %d, %s", code, stderr)
	}
	n.run(t, "alias", "--account", "al@c.test", "--add", "alice@a.test")
	n.run(t, "move", "--account", "alice@a.test", "--to", "al@c.test")
	if got := n.query(t, `select string_agg(e.username || ':' || f.state, ',') from follows f
		join accounts r on r.id = f.follower_id join accounts e on e.id = f.followee_id where r.username = 'carol'`); got != "al:accepted" {
		t.Fatalf("carol follows %q after alice's move, want al only", got)
	}
	actor := string(waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200))
	if !strings.Contains(actor, `"movedTo":"http://c.test/users/al"`) {
		t.Fatalf("alice's actor lacks movedTo: %s", actor)
	}
	if al := string(waitHTTP(t, "http://"+addr+"/users/al", "c.test", 200)); !strings.Contains(al, `"alsoKnownAs":["http://a.test/users/alice"]`) {
		t.Fatalf("al's actor lacks alsoKnownAs: %s", al)
	}
}
