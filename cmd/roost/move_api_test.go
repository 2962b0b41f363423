package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// Aliases and migration through the client API (Mastodon keeps them on
// settings pages; Roost serves them at /api/v1/roost/aliases and
// /migration): carol lets alice move to her, alice moves, bob (alice's
// local follower) now follows carol, and alice's Account entity names
// carol as "moved".
func TestMigrationAPI(t *testing.T) {
	t.Parallel()
	n, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")
	n.run(t, "follow", "--account", "bob@a.test", "--target", "alice@a.test")

	if code, body := rawAPI(t, alice, "POST", "/api/v1/roost/migration?acct=carol@b.test"); code != 422 || !strings.Contains(body, "alias") {
		t.Fatalf("move to an account not naming alice: %d %s", code, body)
	}
	if code, body := rawAPI(t, carol, "POST", "/api/v1/roost/aliases?acct=alice@a.test"); code != 200 ||
		!strings.Contains(body, `"also_known_as":["http://a.test/users/alice"]`) {
		t.Fatalf("add alias: %d %s", code, body)
	}
	if code, body := rawAPI(t, carol, "GET", "/api/v1/roost/aliases"); code != 200 || !strings.Contains(body, "http://a.test/users/alice") {
		t.Fatalf("aliases: %d %s", code, body)
	}
	if code, body := rawAPI(t, bob, "POST", "/api/v1/roost/aliases"); code != 422 {
		t.Fatalf("alias without acct: %d %s", code, body)
	}
	if code, body := rawAPI(t, alice, "POST", "/api/v1/roost/migration?acct=carol@b.test"); code != 200 ||
		!strings.Contains(body, `"moved_to":"http://b.test/users/carol"`) {
		t.Fatalf("migration: %d %s", code, body)
	}
	if got := n.query(t, `select f.state from follows f join accounts b on b.id = f.follower_id join accounts c on c.id = f.followee_id
		where b.username = 'bob' and c.username = 'carol'`); got != "accepted" {
		t.Fatalf("bob follows carol: %s", got)
	}
	me, err := alice.GetAccountCurrentUser(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, body := rawAPI(t, bob, "GET", "/api/v1/accounts/"+string(me.ID))
	if code != http.StatusOK || !strings.Contains(body, `"moved":{`) || !strings.Contains(body, `"acct":"carol@b.test"`) {
		t.Fatalf("alice's account after the move: %d %s", code, body)
	}
	if code, body := rawAPI(t, alice, "POST", "/api/v1/roost/migration?acct=carol@b.test"); code != 422 {
		t.Fatalf("second move: %d %s", code, body)
	}
	if code, body := rawAPI(t, carol, "DELETE", "/api/v1/roost/aliases?acct=http://a.test/users/alice"); code != 200 ||
		!strings.Contains(body, `"also_known_as":[]`) {
		t.Fatalf("remove alias: %d %s", code, body)
	}
	if code, _ := rawAPI(t, carol, "DELETE", "/api/v1/roost/aliases?acct=http://a.test/users/alice"); code != 404 {
		t.Fatalf("removing a missing alias: %d", code)
	}
}
