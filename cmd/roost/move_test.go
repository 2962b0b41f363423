package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// getAP fetches url from the node at addr under host: the ActivityPub
// document when ap, the page otherwise; redirects are not followed.
func getAP(t *testing.T, addr, host, path string, ap bool) (int, http.Header, map[string]any) {
	t.Helper()
	hc := hostClient(addr)
	req, _ := http.NewRequest("GET", "http://"+host+path, nil)
	if ap {
		req.Header.Set("Accept", "application/activity+json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if ap && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("GET %s%s: %v\n%s", host, path, err, b)
		}
	}
	return resp.StatusCode, resp.Header, doc
}

// A tenant that started on a subdomain (alice.a.test) moves to its own
// domain (alice.test) in one command, across two real nodes: bob on node
// B ends up following the new actor (the Move, confirmed by alsoKnownAs),
// the old actor answers movedTo and redirects people, the old post is
// still served at its id by its old identity, bob's reply to it threads
// under it on A, and new posts reach bob from the new actor.
func TestDomainChangeAcrossTwoNodes(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "alice.a.test=" + addrA + ",alice.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "mva", addrA, resolve)
	b := startNode(t, "mvb", addrB, resolve)
	tid := strings.TrimSpace(a.run(t, "tenant", "create", "--name", "Alice", "--domain", "alice.a.test"))
	a.run(t, "account", "create", "--domain", "alice.a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "alice.a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)

	const oldActor, newActor = "http://alice.a.test/users/alice", "http://alice.test/users/alice"
	b.run(t, "follow", "--account", "bob@b.test", "--target", "alice@alice.a.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = $1`, oldActor)
	a.run(t, "follow", "--account", "alice@alice.a.test", "--target", "bob@b.test")
	a.eventually(t, "accepted", `select state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://b.test/users/bob'`)
	oldPost := strings.TrimSpace(a.run(t, "post", "--account", "alice@alice.a.test", "--text", "posted on the subdomain"))
	b.eventually(t, "1", `select count(*) from statuses where uri = $1`, oldPost)

	// Moving to a domain the tenant does not have is refused, nothing changed.
	if code, _, stderr := roost(t, a.env, "tenant", "move-domain", "--tenant", "alice.a.test", "--to", "alice.test"); code == 0 ||
		!strings.Contains(stderr, "add it first") {
		t.Fatalf("move to an unknown domain: exit %d, %s", code, stderr)
	}
	if got := a.query(t, `select count(*) from accounts where tenant_id is not null`); got != "1" {
		t.Fatalf("a refused move left %s local accounts", got)
	}
	a.run(t, "tenant", "add-domain", "--tenant", tid, "--domain", "alice.test")
	out := a.run(t, "tenant", "move-domain", "--tenant", "alice.a.test", "--to", "alice.test")
	if !strings.Contains(out, "@alice@alice.a.test -> @alice@alice.test") {
		t.Fatalf("move-domain: %q", out)
	}

	// The new actor names the old one; the old one says where it went.
	waitHTTP(t, "http://"+addrA+"/users/alice", "alice.test", 200)
	_, _, doc := getAP(t, addrA, "alice.test", "/users/alice", true)
	if doc["id"] != newActor || !strings.Contains(jsonString(doc["alsoKnownAs"]), oldActor) {
		t.Fatalf("new actor: %v", doc)
	}
	_, _, doc = getAP(t, addrA, "alice.a.test", "/users/alice", true)
	if doc["id"] != oldActor || doc["movedTo"] != newActor {
		t.Fatalf("old actor: %v", doc)
	}
	// The old domain still answers WebFinger for the old actor (whose
	// document says where it went).
	if code, _, jrd := getAP(t, addrA, "alice.a.test", "/.well-known/webfinger?resource=acct:alice@alice.a.test", true); code != 200 ||
		!strings.Contains(jsonString(jrd["links"]), oldActor) {
		t.Fatalf("old WebFinger: %d %v", code, jrd)
	}
	// Its profile page says where it went, with a link, and redirects
	// nowhere: movedTo is the account holder's to set (issue 14's open
	// redirects).
	if code, h, _ := getAP(t, addrA, "alice.a.test", "/@alice", false); code != http.StatusOK || h.Get("Location") != "" {
		t.Fatalf("old profile page: %d %q", code, h.Get("Location"))
	}
	// The old post is still served at its id, by its old identity.
	code, _, note := getAP(t, addrA, "alice.a.test", strings.TrimPrefix(oldPost, "http://alice.a.test"), true)
	if code != 200 || note["id"] != oldPost || note["attributedTo"] != oldActor {
		t.Fatalf("old post: %d %v", code, note)
	}

	// B followed the Move: bob follows the new actor, no longer the old.
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		join accounts l on l.id = f.follower_id where r.uri = $1 and l.username = 'bob'`, newActor)
	b.eventually(t, "0", `select count(*) from follows f join accounts r on r.id = f.followee_id where r.uri = $1`, oldActor)
	// A counts bob among the moved account's followers.
	a.eventually(t, "1", `select count(*) from follows f join accounts l on l.id = f.followee_id
		where l.domain = 'alice.test' and l.username = 'alice' and f.state = 'accepted'`)

	// bob answers the old post; on A the reply threads under it, and the
	// post is the moved account's.
	reply := strings.TrimSpace(b.run(t, "post", "--account", "bob@b.test", "--text", "answering the old post", "--reply-to", oldPost))
	a.eventually(t, "alice.test", `select a.domain from statuses r join statuses p on p.id = r.in_reply_to_id
		join accounts a on a.id = p.account_id where r.uri = $1 and p.uri = $2`, reply, oldPost)

	// alice's follow of bob went along: B has it from the new actor (the
	// old one undone), and bob's posts reach her.
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.follower_id
		join accounts l on l.id = f.followee_id where r.uri = $1 and l.username = 'bob'`, newActor)
	b.eventually(t, "0", `select count(*) from follows f join accounts r on r.id = f.follower_id where r.uri = $1`, oldActor)
	bobPost := strings.TrimSpace(b.run(t, "post", "--account", "bob@b.test", "--text", "hello moved alice"))
	a.eventually(t, "alice.test", `select l.domain from home_feeds h join statuses s on s.id = h.status_id
		join accounts l on l.id = h.account_id where s.uri = $1 and l.username = 'alice'`, bobPost)

	// A new post comes from the new actor and reaches bob.
	newPost := strings.TrimSpace(a.run(t, "post", "--account", "alice@alice.test", "--text", "posted on my own domain"))
	if !strings.HasPrefix(newPost, newActor+"/statuses/") {
		t.Fatalf("new post id %q", newPost)
	}
	b.eventually(t, "1", `select count(*) from home_feeds h join statuses s on s.id = h.status_id
		join accounts l on l.id = h.account_id where l.username = 'bob' and s.uri = $1`, newPost)

	// Running it again finds nothing left to move.
	if out := a.run(t, "tenant", "move-domain", "--tenant", "alice.a.test", "--to", "alice.test"); strings.Contains(out, "->") {
		t.Fatalf("second move-domain moved again: %q", out)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// One account moves between two tenants of one node: it keeps its posts
// (now the new tenant's), its local followers and its login, the old
// actor answers movedTo, and a name already taken is refused with nothing
// changed.
func TestAccountMoveBetweenTenants(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "amove", addr, "")
	x := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "X", "--domain", "x.test"))
	y := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Y", "--domain", "y.test"))
	for _, a := range [][2]string{{"x.test", "alice"}, {"x.test", "dan"}, {"y.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@example.com", "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "x.test", 200)
	n.run(t, "follow", "--account", "carol@y.test", "--target", "alice@x.test")
	post := strings.TrimSpace(n.run(t, "post", "--account", "alice@x.test", "--text", "before the move"))

	if code, _, stderr := roost(t, n.env, "account", "move", "--from", "dan@x.test", "--to", "carol@y.test"); code == 0 ||
		!strings.Contains(stderr, "taken") {
		t.Fatalf("move onto a taken name: exit %d, %s", code, stderr)
	}
	if got := n.query(t, `select count(*) from accounts where domain = 'x.test' and username = 'dan' and moved_to_uri is null`); got != "1" {
		t.Fatalf("refused move changed dan: %s", got)
	}

	out := n.run(t, "account", "move", "--from", "alice@x.test", "--to", "alice2@y.test")
	if !strings.Contains(out, "@alice@x.test -> @alice2@y.test") {
		t.Fatalf("account move: %q", out)
	}
	if got := n.query(t, `select s.tenant_id::text || ' ' || a.domain || ' ' || a.username from statuses s join accounts a on a.id = s.account_id
		where s.uri = $1`, post); got != y+" y.test alice2" {
		t.Fatalf("the post is now %q, want tenant %s on y.test", got, y)
	}
	if got := n.query(t, `select count(*) from tenant_timeline where tenant_id = $1 and local`, x); got != "0" {
		t.Fatalf("tenant X's local timeline still lists %s moved posts", got)
	}
	if got := n.query(t, `select f.state from follows f join accounts c on c.id = f.follower_id join accounts a on a.id = f.followee_id
		where c.username = 'carol' and a.domain = 'y.test' and a.username = 'alice2'`); got != "accepted" {
		t.Fatalf("carol's follow after the move: %s", got)
	}
	if got := n.query(t, `select count(*) from user_accounts ua join users u on u.id = ua.user_id join accounts a on a.id = ua.account_id
		where u.email = 'alice@example.com' and a.domain = 'y.test' and a.username = 'alice2'`); got != "1" {
		t.Fatalf("alice's login does not own the moved account: %s", got)
	}
	_, _, doc := getAP(t, addr, "x.test", "/users/alice", true)
	if doc["movedTo"] != "http://y.test/users/alice2" {
		t.Fatalf("old actor: %v", doc)
	}
	_, _, doc = getAP(t, addr, "y.test", "/users/alice2", true)
	if !strings.Contains(jsonString(doc["alsoKnownAs"]), "http://x.test/users/alice") {
		t.Fatalf("new actor: %v", doc)
	}
	if got := n.query(t, `select count(*) from audit_log where action = 'account.move' and tenant_id = $1`, x); got != "1" {
		t.Fatalf("audit entries: %s", got)
	}
}

// A tenant leaves: deletion is scheduled with a grace period (cancellable),
// its accounts can still export everything while it is suspended, then
// Delete(Person) reaches node B (B's copy of the account is gone) and only
// then is the tenant's data removed; the audit record stays.
func TestTenantLeavesWithDeletePerson(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "d.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "lva", addrA, resolve)
	b := startNode(t, "lvb", addrB, resolve)
	tid := strings.TrimSpace(a.run(t, "tenant", "create", "--name", "D", "--domain", "d.test"))
	a.run(t, "account", "create", "--domain", "d.test", "--username", "dave", "--email", "dave@d.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	mediaDir := t.TempDir()
	a.env = append(a.env, "ROOST_MEDIA_DIR="+mediaDir)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/dave", "d.test", 200)

	// Dave has media (an image: original and thumbnail) and an archive
	// built by the export worker, all outside the database.
	ctx := context.Background()
	dave := signIn(t, addrA, "http://d.test", "dave@d.test", "read write follow")
	att, err := dave.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(testPNG(t, 64, 48)), Description: "a picture"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dave.PostStatus(ctx, &mastodon.Toot{Status: "with a picture", MediaIDs: []mastodon.ID{att.ID}, Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	code, jb, _ := archiveCall(t, dave, "POST", "/api/v1/roost/exports", nil)
	var job archiveJob
	if code != 202 || json.Unmarshal(jb, &job) != nil {
		t.Fatalf("request export: %d %s", code, jb)
	}
	if j := waitJob(t, dave, "/api/v1/roost/exports/"+job.ID); j.State != "done" {
		t.Fatalf("export: %+v", j)
	}
	archivePath := a.query(t, `select path from archive_exports where tenant_id = $1`, tid)
	mediaFiles := filesUnder(t, mediaDir)
	if len(mediaFiles) != 2 || readFile(t, archivePath) == nil {
		t.Fatalf("before leaving: media files %v, archive %s", mediaFiles, archivePath)
	}
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)
	b.run(t, "follow", "--account", "bob@b.test", "--target", "dave@d.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://d.test/users/dave'`)
	post := strings.TrimSpace(a.run(t, "post", "--account", "dave@d.test", "--text", "last words"))
	b.eventually(t, "1", `select count(*) from statuses where uri = $1`, post)

	a.run(t, "tenant", "delete", "--tenant", "d.test", "--grace", "720h")
	if code, _, stderr := roost(t, a.env, "tenant", "delete", "--tenant", tid, "--grace", "1h"); code == 0 || !strings.Contains(stderr, "already scheduled") {
		t.Fatalf("second schedule: exit %d, %s", code, stderr)
	}
	a.run(t, "tenant", "delete", "--tenant", tid, "--cancel")
	if got := a.query(t, `select count(*) from tenant_deletions`); got != "0" {
		t.Fatalf("cancelled deletion still there: %s", got)
	}

	// Suspended (by billing or an operator), the accounts still export.
	a.query(t, `update tenants set status = 'suspended' where id = $1`, tid)
	zip := t.TempDir() + "/dave.zip"
	a.run(t, "account", "export", "--account", "dave@d.test", "--out", zip)
	if data := readFile(t, zip); !strings.Contains(string(data), "outbox.json") {
		t.Fatal("the export has no outbox.json")
	}

	// As if a deletion had crashed halfway: one file already gone. The
	// deletion still finishes.
	if err := os.Remove(mediaFiles[0]); err != nil {
		t.Fatal(err)
	}
	a.run(t, "tenant", "delete", "--tenant", "d.test", "--grace", "0s")
	b.eventually(t, "0", `select count(*) from accounts where uri = 'http://d.test/users/dave'`)
	a.eventually(t, "0", `select count(*) from tenants where id = $1`, tid)
	for _, q := range []string{
		`select count(*) from accounts where tenant_id = $1`,
		`select count(*) from statuses where tenant_id = $1`,
		`select count(*) from domains where tenant_id = $1`,
	} {
		if got := a.query(t, q, tid); got != "0" {
			t.Errorf("%s = %s after deletion", q, got)
		}
	}
	if got := a.query(t, `select count(*) from deliveries where activity_id = 'http://d.test/users/dave#delete'`); got != "0" {
		t.Errorf("delivery rows of the deleted account remain: %s", got)
	}
	for _, action := range []string{"tenant.delete_scheduled", "tenant.delete_cancelled", "tenant.deleted"} {
		if got := a.query(t, `select count(*) > 0 from audit_log where action = $1 and tenant_id = $2`, action, tid); got != "true" {
			t.Errorf("no audit record %s", action)
		}
	}
	waitHTTP(t, "http://"+addrA+"/users/dave", "d.test", 404)
	if left := filesUnder(t, mediaDir); len(left) != 0 {
		t.Errorf("media files remain after deletion: %v", left)
	}
	if _, err := os.Stat(archivePath); !os.IsNotExist(err) {
		t.Errorf("archive %s remains after deletion: %v", archivePath, err)
	}
}

// filesUnder lists the regular files under dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Move in: an account of node B moves between two of B's tenants; node
// A processes the inbound Move, records where the old actor went (the
// Account entity's moved), and A's local follower of the old actor now
// follows the new one (A re-sends the Follow, B accepts it) and gets its
// posts.
func TestAccountMoveInFromOtherNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",x.test=" + addrB + ",y.test=" + addrB
	a := startNode(t, "mia", addrA, resolve)
	b := startNode(t, "mib", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "X", "--domain", "x.test")
	b.run(t, "tenant", "create", "--name", "Y", "--domain", "y.test")
	b.run(t, "account", "create", "--domain", "x.test", "--username", "bob", "--email", "bob@x.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "x.test", 200)

	const oldActor, newActor = "http://x.test/users/bob", "http://y.test/users/bob2"
	a.run(t, "follow", "--account", "alice@a.test", "--target", "bob@x.test")
	a.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = $1`, oldActor)

	out := b.run(t, "account", "move", "--from", "bob@x.test", "--to", "bob2@y.test")
	if !strings.Contains(out, "@bob@x.test -> @bob2@y.test") {
		t.Fatalf("account move: %q", out)
	}

	// A followed the Move: alice follows the new actor (accepted by B),
	// no longer the old one.
	a.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		join accounts l on l.id = f.follower_id where r.uri = $1 and l.username = 'alice'`, newActor)
	a.eventually(t, "0", `select count(*) from follows f join accounts r on r.id = f.followee_id where r.uri = $1`, oldActor)
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.follower_id
		join accounts l on l.id = f.followee_id where r.uri = 'http://a.test/users/alice' and l.username = 'bob2'`)
	// The old remote account says where it went, in the database and in
	// the client API's Account entity.
	if got := a.query(t, `select coalesce(moved_to_uri, '') from accounts where uri = $1`, oldActor); got != newActor {
		t.Fatalf("A's copy of the old actor: moved_to_uri %q, want %q", got, newActor)
	}
	alice := signIn(t, addrA, "http://a.test", "alice@a.test", "read write follow")
	oldID := a.query(t, `select id from accounts where uri = $1`, oldActor)
	acct, err := alice.GetAccount(ctx, mastodon.ID(oldID))
	if err != nil {
		t.Fatal(err)
	}
	if acct.Moved == nil || acct.Moved.Acct != "bob2@y.test" {
		t.Fatalf("old account's moved: %+v", acct.Moved)
	}
	// The new actor's posts reach alice.
	post := strings.TrimSpace(b.run(t, "post", "--account", "bob2@y.test", "--text", "hello from my new home"))
	a.eventually(t, "1", `select count(*) from home_feeds h join statuses s on s.id = h.status_id
		join accounts l on l.id = h.account_id where l.username = 'alice' and s.uri = $1`, post)
}
