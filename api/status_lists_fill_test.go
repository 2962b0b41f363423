package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/card"
)

// fillWorld is notifWorld with bob of A's posts on every status list of
// alice of A: three older ones she sees, three newer ones her hide filter
// ("zebra", every context) leaves out, plus posts of other.example (a
// domain she hides) on her home and the remote public timeline, and on
// her home posts of an exclusive list's member and boosts of a post she
// may not see (unseen).
type fillWorld struct {
	*notifWorld
	list    string
	visible map[string]bool // every post the lists may show
	hidden  map[string]bool // every post no list may show
}

func newFillWorld(t *testing.T, with ...func(*mastodon.Handler)) *fillWorld {
	t.Helper()
	var views *postgres.Store
	w := &fillWorld{notifWorld: newNotifWorld(t, append([]func(*mastodon.Handler){func(h *mastodon.Handler) {
		views = h.Views.(*postgres.Store)
		h.Cards = &card.Service{Views: views} // timelines/link
	}}, with...)...), visible: map[string]bool{}, hidden: map[string]bool{}}
	var linkCard int64
	if err := w.db.QueryRow(context.Background(), `insert into link_cards (url) values ('https://link.example/x') returning id`).Scan(&linkCard); err != nil {
		t.Fatal(err)
	}
	a := w.aliceA
	w.call(t, a, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", w.bob.ID), nil).want(t, 200)
	w.list = decodeAs[struct{ ID string }](t, w.call(t, a, http.MethodPost, "/api/v1/lists", map[string]any{"title": "l"}).want(t, 200)).ID
	w.call(t, a, http.MethodPost, "/api/v1/lists/"+w.list+"/accounts", map[string]any{"account_ids": []string{fmt.Sprint(w.bob.ID)}}).want(t, 200)
	for _, word := range []string{"plain", "plain", "plain", "zebra", "zebra", "zebra"} {
		id := w.hiddenWorld.post(t, w.bob, map[string]any{"status": word + " #stack https://link.example/x"})
		w.exec(t, `insert into status_cards (status_id, card_id) values ($1, $2)`, id, linkCard)
		w.visible[id] = word == "plain"
		w.hidden[id] = word == "zebra"
		// Bookmarks and favourites apply no filters: all six are listed.
		w.call(t, a, http.MethodPost, "/api/v1/statuses/"+id+"/bookmark", nil).want(t, 200)
		w.call(t, a, http.MethodPost, "/api/v1/statuses/"+id+"/favourite", nil).want(t, 200)
	}
	w.call(t, a, http.MethodPost, "/api/v2/filters", map[string]any{"title": "z", "filter_action": "hide",
		"context":             []string{"home", "public", "account", "thread", "notifications"},
		"keywords_attributes": []map[string]any{{"keyword": "zebra"}}}).want(t, 200)
	// Remote posts: r1's seen, far's (other.example) hidden; on the public
	// timeline of tenant A and, as if followed, on alice's home.
	for i, author := range []*federation.Account{w.r1, w.r1, w.r1, w.far, w.far, w.far} {
		st, err := w.accounts.UpsertRemoteStatus(context.Background(), &federation.Status{AccountID: author.ID,
			URI: fmt.Sprintf("https://%s/users/%s/statuses/%d", author.Domain, author.Username, i), Content: "<p>remote</p>",
			Visibility: federation.Public, To: []string{federation.PublicCollection}, Published: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		w.exec(t, `insert into tenant_timeline (tenant_id, status_id, local) values ($1, $2, false) on conflict do nothing`, w.tenantA.ID, st.ID)
		w.exec(t, `insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`, a.ID, st.ID)
		w.exec(t, `insert into status_cards (status_id, card_id) values ($1, $2)`, st.ID, linkCard)
		id := fmt.Sprint(st.ID)
		w.visible[id] = author == w.r1
		w.hidden[id] = author == w.far
	}
	w.call(t, a, http.MethodPost, "/api/v1/domain_blocks", map[string]any{"domain": "other.example"}).want(t, 200)
	w.unseen(t)
	return w
}

// unseen tops alice's home with rows she may never be shown: r2's posts
// while r2 is on her exclusive list, and r3's boosts of a followers-only
// post by r1, whom she does not follow (also on r3's account page).
func (w *fillWorld) unseen(t *testing.T) {
	t.Helper()
	var list int64
	if err := w.db.QueryRow(context.Background(), `insert into lists (account_id, title, exclusive) values ($1, 'x', true)
		returning id`, w.aliceA.ID).Scan(&list); err != nil {
		t.Fatal(err)
	}
	w.exec(t, `insert into list_accounts (list_id, account_id) values ($1, $2)`, list, w.r2.ID)
	var private int64
	if err := w.db.QueryRow(context.Background(), `insert into statuses (account_id, uri, content, visibility, published_at)
		values ($1, 'https://remote.example/users/r1/private', '<p>followers</p>', 'private', now()) returning id`,
		w.r1.ID).Scan(&private); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // r3's own posts, below its boosts on its page
		var id int64
		if err := w.db.QueryRow(context.Background(), `insert into statuses (account_id, uri, content, visibility, published_at)
			values ($1, $2, '<p>seen</p>', 'public', now()) returning id`,
			w.r3.ID, fmt.Sprintf("https://remote.example/users/r3/seen/%d", i)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		w.visible[fmt.Sprint(id)] = true
	}
	for i := range 3 {
		for _, author := range []*federation.Account{w.r2, w.r3} {
			var id int64
			var reblog any
			if author == w.r3 {
				reblog = private
			}
			if err := w.db.QueryRow(context.Background(), `insert into statuses (account_id, uri, content, visibility, reblog_of_id, published_at)
				values ($1, $2, '<p>unseen</p>', 'public', $3, now()) returning id`,
				author.ID, fmt.Sprintf("https://remote.example/users/%s/unseen/%d", author.Username, i), reblog).Scan(&id); err != nil {
				t.Fatal(err)
			}
			w.exec(t, `insert into home_feeds (account_id, status_id) values ($1, $2)`, w.aliceA.ID, id)
			w.hidden[fmt.Sprint(id)] = true
		}
	}
}

// walk pages route by limit=2 through the Link header's next until an
// empty page, and returns every id in order and the first page's size.
func (w *fillWorld) walk(t *testing.T, route string) (ids []string, first int) {
	t.Helper()
	sep := "?"
	if strings.Contains(route, "?") {
		sep = "&"
	}
	target := route + sep + "limit=2"
	for n := 0; ; n++ {
		if n > 40 {
			t.Fatalf("%s: paging never ends: %v", route, ids)
		}
		r := w.call(t, w.aliceA, http.MethodGet, target, nil).want(t, 200)
		page := decodeAs[[]struct{ ID string }](t, r)
		if n == 0 {
			first = len(page)
		}
		if len(page) == 0 {
			return ids, first
		}
		for _, s := range page {
			ids = append(ids, s.ID)
		}
		target = nextOf(t, r.link)
	}
}

// TestIssue17StatusListsFilterBeforeLimit: on every status list route,
// with more hidden rows (hide filter, hidden domain, exclusive list,
// boost of an original the viewer may not see) at the top than the
// limit, a page of two still holds two posts, and paging by the Link
// header reaches every post the list shows without a limit, each exactly
// once, in order, none of them hidden (the old code cut the page at the
// limit and dropped the hidden rows after: an empty first page, which
// clients read as the end of the timeline).
func TestIssue17StatusListsFilterBeforeLimit(t *testing.T) {
	w := newFillWorld(t)
	// Home's query itself leaves out, before its LIMIT, what needs no
	// text: hidden domains, exclusive lists, boosts of unseen originals.
	top, err := w.accounts.HomeTimeline(context.Background(), w.aliceA.ID, federation.Page{Limit: 2})
	if err != nil || len(top) != 2 || w.hidden[fmt.Sprint(top[0])] || w.hidden[fmt.Sprint(top[1])] {
		t.Fatalf("home query's first two: %v %v", top, err)
	}
	bob := fmt.Sprint(w.bob.ID)
	for _, tc := range []struct {
		route    string
		want     int  // posts of the world's own at least listed
		filtered bool // the hide filter and hidden domains apply
	}{
		{"/api/v1/timelines/home", 6, true},
		{"/api/v1/timelines/list/" + w.list, 3, true},
		{"/api/v1/timelines/public", 6, true},
		{"/api/v1/timelines/public?local=true", 3, true},
		{"/api/v1/timelines/public?remote=true", 3, true},
		{"/api/v1/timelines/tag/stack", 3, true},
		{"/api/v1/accounts/" + bob + "/statuses", 3, true},
		{fmt.Sprintf("/api/v1/accounts/%d/statuses", w.r3.ID), 3, true},
		{"/api/v1/timelines/link?url=" + url.QueryEscape("https://link.example/x"), 6, true},
		{"/api/v1/bookmarks", 6, false},
		{"/api/v1/favourites", 6, false},
	} {
		t.Run(strings.NewReplacer("/", "_", "?", "_").Replace(tc.route), func(t *testing.T) {
			all := decodeAs[[]struct{ ID string }](t, w.call(t, w.aliceA, http.MethodGet, tc.route, nil).want(t, 200))
			var want []string
			ours := 0
			for _, s := range all {
				want = append(want, s.ID)
				if tc.filtered && w.hidden[s.ID] {
					t.Fatalf("hidden post %s listed: %v", s.ID, want)
				}
				if w.visible[s.ID] || !tc.filtered && w.hidden[s.ID] {
					ours++
				}
			}
			if ours != tc.want {
				t.Fatalf("unpaged list holds %d of the world's posts, want %d: %v", ours, tc.want, want)
			}
			got, first := w.walk(t, tc.route)
			if first != min(2, len(want)) || !slices.Equal(got, want) {
				t.Fatalf("first page %d; paged %v, want %v", first, got, want)
			}
		})
	}
}
