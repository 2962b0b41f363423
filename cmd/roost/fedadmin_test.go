package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/domainblock"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
)

// Suspending a remote domain takes effect between two real roost
// processes: once node A suspends b.test, B's signed inbox POSTs to A are
// refused (403, before A fetches any key), nothing of them is stored,
// and a post on A queues no delivery to B. Lifting the block restores
// both directions.
func TestDomainSuspensionBetweenTwoNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "sa", addrA, resolve)
	b := startNode(t, "sb", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)

	// Before: bob follows alice and gets her post.
	b.run(t, "follow", "--account", "bob@b.test", "--target", "alice@a.test")
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://a.test/users/alice'`)
	first := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "before the block"))
	b.eventually(t, "1", `select count(*) from statuses where uri = $1`, first)
	// A request signed with a key bob does not have, on bob's host: A
	// fetches bob's real key from B and the signature fails (401).
	if code, body := probeInbox(t, addrA); code != http.StatusUnauthorized {
		t.Fatalf("probe before the block: %d %s", code, body)
	}

	// A's operator suspends b.test, instance-wide (as the dashboard does).
	pool, err := pgxpool.New(ctx, a.db)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	storeA := fedpg.New(pool)
	if _, err := storeA.SaveDomainBlock(ctx, domainblock.Block{Domain: "b.test", Severity: domainblock.Suspend}); err != nil {
		t.Fatal(err)
	}
	// Every node of A follows within seconds; then the refusal comes
	// before any key fetch.
	eventuallyTrue(t, "A refuses b.test's inbox POSTs", func() bool {
		code, body := probeInbox(t, addrA)
		return code == http.StatusForbidden && strings.Contains(body, "b.test is suspended")
	})
	favouritesBefore := a.query(t, `select count(*) from favourites`)
	itemsBefore := a.query(t, `select count(*) from inbox_items`)
	// bob's real, signed Like of alice's post is refused by A: B records 403.
	b.run(t, "do", "like", "--account", "bob@b.test", "--target", first)
	b.eventually(t, "failed 403", `select state || ' ' || last_status from deliveries where host like 'a.test%' and activity_id like '%like%'`)
	if got := a.query(t, `select count(*) from favourites`); got != favouritesBefore {
		t.Fatalf("A stored a favourite from a suspended domain")
	}
	if got := a.query(t, `select count(*) from inbox_items`); got != itemsBefore {
		t.Fatalf("A queued an inbox item from a suspended domain")
	}
	// A post on A queues nothing for B.
	second := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "during the block"))
	if got := a.query(t, `select count(*) from deliveries where activity_id like $1 || '%'`, second); got != "0" {
		t.Fatalf("deliveries queued to a suspended domain: %s", got)
	}

	// Lifting the block restores both directions.
	blocks, err := storeA.ListDomainBlocks(ctx, 0, "b.test")
	if err != nil || len(blocks) != 1 {
		t.Fatalf("blocks: %v %v", blocks, err)
	}
	if _, err := storeA.DeleteDomainBlock(ctx, 0, blocks[0].ID); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "A accepts b.test again", func() bool {
		code, _ := probeInbox(t, addrA)
		return code == http.StatusUnauthorized
	})
	third := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "after the block"))
	b.eventually(t, "1", `select count(*) from statuses where uri = $1`, third)
	if got := b.query(t, `select count(*) from statuses where uri = $1`, second); got != "0" {
		t.Fatalf("the post made during the block reached B")
	}
	b.run(t, "do", "like", "--account", "bob@b.test", "--target", third)
	a.eventually(t, "1", `select count(*) from favourites f join statuses s on s.id = f.status_id where s.uri = $1`, third)

	// A's workers recorded B's delivery health and, through the safe
	// client, its NodeInfo, for the dashboard's federation pages.
	a.eventually(t, "true", `select last_delivered_at is not null from remote_hosts where host = 'b.test'`)
	a.eventually(t, "roost", `select software from remote_hosts where host = 'b.test'`)
}

// probeInbox POSTs to A's shared inbox a Like signed, as bob@b.test's
// key, with a key that is not bob's: its answer says whether A refused
// the domain (403) or went on to check the signature (401).
func probeInbox(t *testing.T, addr string) (int, string) {
	t.Helper()
	kp, err := probeKeys()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"http://b.test/probe/%d","type":"Like",`+
		`"actor":"http://b.test/users/bob","object":"http://a.test/users/alice"}`, time.Now().UnixNano()))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "a.test"
	req.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(req, body, "http://b.test/users/bob#main-key", key, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// probeKeys is one key pair for every probe (making one is slow).
var probeKeys = sync.OnceValues(federation.GenerateKeyPair)
