package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/errs"
)

// remotePeer is a remote server with one actor, r, whose collections it
// serves; it counts the requests per path.
type remotePeer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits map[string]int
	down map[string]bool // paths answering 500
}

const peerBase = "http://remote.test"

func newRemotePeer(t *testing.T, posts []map[string]any) *remotePeer {
	t.Helper()
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	actor := ap.NewActor(&federation.Account{Username: "r", DisplayName: "R", PublicKeyPEM: keys.PublicPEM},
		federation.Links{Base: peerBase})
	me := peerBase + "/users/r"
	p := &remotePeer{hits: map[string]int{}, down: map[string]bool{}}
	docs := map[string]any{
		"/users/r":           actor,
		"/users/r/outbox":    map[string]any{"id": me + "/outbox", "type": "OrderedCollection", "totalItems": 42, "first": me + "/outbox?page=true"},
		"/users/r/followers": map[string]any{"id": me + "/followers", "type": "OrderedCollection", "totalItems": 7},
		"/users/r/following": map[string]any{"id": me + "/following", "type": "OrderedCollection", "totalItems": 3},
	}
	page := map[string]any{"id": me + "/outbox?page=true", "type": "OrderedCollectionPage", "orderedItems": posts}
	p.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits[r.URL.Path]++
		down := p.down[r.URL.Path]
		p.mu.Unlock()
		doc, ok := docs[r.URL.Path]
		if r.URL.Path == "/users/r/outbox" && r.URL.RawQuery == "page=true" {
			doc = page
		}
		if !ok || down {
			http.Error(rw, "no", http.StatusInternalServerError)
			return
		}
		rw.Header().Set("Content-Type", ap.ContentType)
		_ = json.NewEncoder(rw).Encode(doc)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *remotePeer) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, h := range p.hits {
		n += h
	}
	return n
}

// peerNote is a Create of a Note on the peer, by author, addressed to.
func peerNote(n int, author string, to []string) map[string]any {
	id := fmt.Sprintf("%s/statuses/%d", author, n)
	return map[string]any{"id": id + "/activity", "type": "Create", "actor": author, "to": to,
		"object": map[string]any{"id": id, "type": "Note", "attributedTo": author, "to": to,
			"content": fmt.Sprintf("<p>post %d</p>", n), "published": "2026-12-01T10:00:00Z"}}
}

// Issue 18 (left 3): a remote account's profile showed 0 posts,
// followers and following, and no posts, until deliveries arrived. Looked
// up, its counts come from its collections' totalItems and its public
// posts from its outbox's first page (at most 20, only its own public and
// unlisted ones), at most once per interval; a collection that fails
// leaves its count as it was.
func TestIssue18RemoteProfileCountsAndRecentPosts(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	me := peerBase + "/users/r"
	var items []map[string]any
	items = append(items, peerNote(100, me, []string{me + "/followers"}))                                // followers-only
	items = append(items, peerNote(101, peerBase+"/users/other", []string{federation.PublicCollection})) // not r's
	items = append(items, map[string]any{"id": me + "/statuses/102/activity", "type": "Create", "actor": me, "object": me + "/statuses/102"})
	items = append(items, map[string]any{"id": me + "/statuses/103/activity", "type": "Announce", "actor": me, "object": "https://elsewhere.example/1"})
	for n := 1; n <= outbox.RecentPosts+2; n++ {
		items = append(items, peerNote(n, me, []string{federation.PublicCollection}))
	}
	peer := newRemotePeer(t, items)
	peer.down["/users/r/following"] = true
	client := fetch.New(fetch.Config{Resolve: map[string]string{"remote.test": "http://" + strings.TrimPrefix(peer.srv.URL, "http://")}})
	clock := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	ob := &outbox.Service{Keys: &actors.Keys{Store: w.s, Fetch: client}, Fetch: client, Store: w.s,
		Now: func() time.Time { return clock }}
	r, err := ob.Keys.Actor(ctx, me, false)
	if err != nil {
		t.Fatal(err)
	}
	counts := func() (int64, int64, int64) {
		t.Helper()
		v, err := w.s.AccountViews(ctx, []int64{r.ID})
		if err != nil || v[r.ID] == nil {
			t.Fatal(err)
		}
		return v[r.ID].StatusesCount, v[r.ID].FollowersCount, v[r.ID].FollowingCount
	}
	if err := ob.RefreshCollections(ctx, r); err != nil {
		t.Fatal(err)
	}
	if s, f, g := counts(); s != 42 || f != 7 || g != 0 {
		t.Errorf("counts %d/%d/%d, want 42/7/0 (following down)", s, f, g)
	}
	var stored int
	if err := w.db.QueryRow(ctx, `select count(*) from statuses where account_id = $1`, r.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != outbox.RecentPosts {
		t.Errorf("%d posts stored, want %d", stored, outbox.RecentPosts)
	}
	for _, uri := range []string{me + "/statuses/100", peerBase + "/users/other/statuses/101", me + "/statuses/102"} {
		if _, err := w.s.StatusByURI(ctx, uri); !errs.Is(err, errs.NotFound) {
			t.Errorf("%s stored (%v): only r's own public posts embedded in the page are", uri, err)
		}
	}
	if st, err := w.s.StatusByURI(ctx, me+"/statuses/1"); err != nil || st.Visibility != federation.Public {
		t.Fatalf("r's first post: %v %v", st, err)
	}
	seen, err := w.s.AccountStatuses(ctx, federation.SignedOut(w.ta), r.ID, federation.AccountStatusesFilter{}, federation.Page{Limit: 40})
	if err != nil || len(seen) != outbox.RecentPosts {
		t.Errorf("the public sees %d of r's posts (%v), want %d", len(seen), err, outbox.RecentPosts)
	}
	// Looked up again within the interval: nothing is fetched.
	before := peer.total()
	if err := ob.RefreshCollections(ctx, r); err != nil || peer.total() != before {
		t.Errorf("a second read within the interval fetched %d times (%v)", peer.total()-before, err)
	}
	// After it, once more: four fetches, the following count now read.
	peer.mu.Lock()
	peer.down["/users/r/following"] = false
	peer.mu.Unlock()
	clock = clock.Add(outbox.CollectionsEvery)
	if err := ob.RefreshCollections(ctx, r); err != nil {
		t.Fatal(err)
	}
	if n := peer.total() - before; n != 4 {
		t.Errorf("a read fetched %d documents, want 4", n)
	}
	if s, f, g := counts(); s != 42 || f != 7 || g != 3 {
		t.Errorf("counts %d/%d/%d, want 42/7/3", s, f, g)
	}
	// A local account is never read this way.
	if due, err := w.s.ClaimCollectionsFetch(ctx, w.alice.ID, clock, time.Minute); err != nil || due {
		t.Errorf("a local account claimed: %v %v", due, err)
	}
}
