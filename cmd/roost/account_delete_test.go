package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// Issue 18: one account deleted (`roost account delete`, the operator's
// side of the settings page), across two real nodes. Node B's bob
// follows dave on node A. At once dave's actor answers 410 Gone with a
// Tombstone and his token stops working; roost work sends Delete(Person),
// signed by dave, through the delivery queue, and node B — which checks
// the signature as every inbox does — drops dave and his post. Node A
// removes his posts and media files, then his row; his name stays
// taken; erin, on the same tenant, is untouched.
func TestIssue18AccountDeleteAcrossNodes(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "d.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "dela", addrA, resolve)
	b := startNode(t, "delb", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "D", "--domain", "d.test")
	for _, u := range []string{"dave", "erin"} {
		a.run(t, "account", "create", "--domain", "d.test", "--username", u, "--email", u+"@d.test", "--password", testPassword)
	}
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	mediaDir := t.TempDir()
	a.env = append(a.env, "ROOST_MEDIA_DIR="+mediaDir)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/dave", "d.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)

	ctx := context.Background()
	dave := signIn(t, addrA, "http://d.test", "dave@d.test", "read write follow")
	att, err := dave.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(testPNG(t, 32, 24)), Description: "a picture"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dave.PostStatus(ctx, &mastodon.Toot{Status: "with a picture", MediaIDs: []mastodon.ID{att.ID}, Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	b.run(t, "follow", "--account", "bob@b.test", "--target", "dave@d.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://d.test/users/dave'`)
	post := strings.TrimSpace(a.run(t, "post", "--account", "dave@d.test", "--text", "last words"))
	b.eventually(t, "1", `select count(*) from statuses where uri = $1`, post)
	if files := filesUnder(t, mediaDir); len(files) != 2 {
		t.Fatalf("media files before: %v", files)
	}

	a.run(t, "account", "delete", "--account", "dave@d.test")
	if code, _, doc := getAP(t, addrA, "d.test", "/users/dave", true); code != 410 {
		t.Errorf("the deleted actor: %d %v", code, doc)
	}
	if _, err := dave.GetAccountCurrentUser(ctx); err == nil {
		t.Error("the deleted account's token still works")
	}
	b.eventually(t, "0", `select count(*) from accounts where uri = 'http://d.test/users/dave'`)
	b.eventually(t, "0", `select count(*) from statuses where uri = $1`, post)
	a.eventually(t, "0", `select count(*) from accounts where username = 'dave'`)
	for _, q := range []string{
		`select count(*) from statuses where uri like 'http://d.test/users/dave/%'`,
		`select count(*) from media_attachments`,
		`select count(*) from users where email = 'dave@d.test'`,
	} {
		if got := a.query(t, q); got != "0" {
			t.Errorf("%s = %s after the deletion", q, got)
		}
	}
	if left := filesUnder(t, mediaDir); len(left) != 0 {
		t.Errorf("media files remain: %v", left)
	}
	if got := a.query(t, `select count(*) from deliveries where activity_id = 'http://d.test/users/dave#delete'`); got != "0" {
		t.Errorf("the Delete's delivery rows remain: %s", got)
	}
	if code, _, doc := getAP(t, addrA, "d.test", "/users/dave", true); code != 410 || doc != nil {
		t.Errorf("the purged actor: %d %v", code, doc)
	}
	code, _, stderr := roost(t, a.env, "account", "create", "--domain", "d.test", "--username", "Dave", "--email", "new@d.test", "--password", testPassword)
	if code == 0 || !strings.Contains(stderr, "taken") {
		t.Errorf("the deleted name was registered again: exit %d, %s", code, stderr)
	}
	waitHTTP(t, "http://"+addrA+"/users/erin", "d.test", 200)
	if code, _, stderr := roost(t, a.env, "account", "delete", "--account", "nobody@d.test"); code == 0 {
		t.Errorf("deleting a missing account: exit 0, %s", stderr)
	}
}
