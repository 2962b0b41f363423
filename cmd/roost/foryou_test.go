package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/mattn/go-mastodon"
)

// forYouGet GETs a "For you" path on a.test with a token and decodes the
// JSON answer into out; it returns the status and the Link header.
func forYouGet(t *testing.T, addr, token, path string, out any) (int, string) {
	t.Helper()
	hc := hostClient(addr)
	req, _ := http.NewRequest("GET", "http://a.test"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}
	return resp.StatusCode, resp.Header.Get("Link")
}

type forYouStatus struct {
	ID      string `json:"id"`
	Account struct {
		Acct string `json:"acct"`
	} `json:"account"`
}

type forYouTerm struct {
	Value, Weight, Contribution float64
}

type forYouExplanation struct {
	StatusID   string   `json:"status_id"`
	Served     bool     `json:"served"`
	ServedAt   *string  `json:"served_at"`
	Eligible   bool     `json:"eligible"`
	Reasons    []string `json:"reasons"`
	Score      float64  `json:"score"`
	Components struct {
		Affinity struct {
			forYouTerm
			Favourites int `json:"favourites"`
		} `json:"affinity"`
		Freshness struct {
			forYouTerm
			AgeHours float64 `json:"age_hours"`
		} `json:"freshness"`
		Noise forYouTerm `json:"noise"`
	} `json:"components"`
}

var linkNext = regexp.MustCompile(`<http://a\.test(/api/v1/timelines/for_you\?[^>]*)>; rel="next"`)

// "For you" through the client API: an author bob likes comes first, no
// author takes more than the cap of a page, the next page (Link) holds
// only posts not served yet, and explanations say why.
func TestForYouAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, addr := apiNode(t)
	n.run(t, "account", "create", "--domain", "a.test", "--username", "dave", "--email", "dave@a.test", "--password", testPassword)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	dave := signIn(t, addr, "http://a.test", "dave@a.test", "read write follow")
	token := bob.Config.AccessToken
	for _, u := range []string{"alice", "dave"} {
		a, err := bob.AccountLookup(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.AccountFollow(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	// bob likes what alice posts, and never touches dave's.
	var liked []mastodon.ID
	for i := range 3 {
		s, err := alice.PostStatus(ctx, &mastodon.Toot{Status: fmt.Sprintf("alice earlier %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Favourite(ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		liked = append(liked, s.ID)
	}
	fromAlice, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "alice now"})
	if err != nil {
		t.Fatal(err)
	}
	var fromDave []string
	for i := range 4 {
		s, err := dave.PostStatus(ctx, &mastodon.Toot{Status: fmt.Sprintf("dave %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		fromDave = append(fromDave, string(s.ID))
	}

	if code, _ := forYouGet(t, addr, "", "/api/v1/timelines/for_you", nil); code != 401 {
		t.Fatalf("without a token: %d, want 401", code)
	}
	// limit 10: at most 2 posts of one author (a fifth).
	var page1 []forYouStatus
	code, link := forYouGet(t, addr, token, "/api/v1/timelines/for_you?limit=10", &page1)
	if code != 200 || len(page1) != 3 {
		t.Fatalf("first page: %d %+v", code, page1)
	}
	if page1[0].ID != string(fromAlice.ID) || page1[0].Account.Acct != "alice" {
		t.Fatalf("first page starts with %+v, want alice's new post %s (bob likes her posts)", page1[0], fromAlice.ID)
	}
	perAuthor := map[string]int{}
	for _, s := range page1 {
		perAuthor[s.Account.Acct]++
		if slices.Contains(liked, mastodon.ID(s.ID)) {
			t.Fatalf("a post bob favourited already was served: %s", s.ID)
		}
	}
	if perAuthor["dave"] != 2 {
		t.Fatalf("page of 10: %v, want dave capped at 2", perAuthor)
	}
	m := linkNext.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("no next link: %q", link)
	}
	var page2 []forYouStatus
	if code, _ := forYouGet(t, addr, token, m[1], &page2); code != 200 || len(page2) != 2 {
		t.Fatalf("next page: %d %+v", code, page2)
	}
	for _, s := range page2 {
		if s.Account.Acct != "dave" || !slices.Contains(fromDave, s.ID) || slices.ContainsFunc(page1, func(p forYouStatus) bool { return p.ID == s.ID }) {
			t.Fatalf("next page holds %+v; want dave's posts not served yet (first page %+v)", s, page1)
		}
	}
	var page3 []forYouStatus
	if code, _ := forYouGet(t, addr, token, "/api/v1/timelines/for_you?limit=10", &page3); code != 200 || len(page3) != 0 {
		t.Fatalf("everything was served, yet a refresh shows %d %+v", code, page3)
	}
	// Polling for newer posts consumes nothing.
	if code, _ := forYouGet(t, addr, token, "/api/v1/timelines/for_you?min_id="+page1[0].ID, &page3); code != 200 || len(page3) != 0 {
		t.Fatalf("min_id: %d %+v", code, page3)
	}

	// Why alice's post came first: the score it was served with.
	var e forYouExplanation
	if code, _ := forYouGet(t, addr, token, "/api/v1/timelines/for_you/explain?status_id="+page1[0].ID, &e); code != 200 {
		t.Fatalf("explain: %d", code)
	}
	c := e.Components
	sum := c.Affinity.Contribution + c.Freshness.Contribution + c.Noise.Contribution
	if !e.Served || e.ServedAt == nil || e.Eligible || c.Affinity.Favourites != 3 || c.Affinity.Value <= 0 ||
		math.Abs(sum-e.Score) > 0.001 || !slices.Contains(e.Reasons, "served to you already") {
		t.Fatalf("explanation of alice's post: %+v", e)
	}
	var d forYouExplanation
	forYouGet(t, addr, token, "/api/v1/timelines/for_you/explain?status_id="+page2[0].ID, &d)
	if d.Components.Affinity.Favourites != 0 || d.Components.Affinity.Value != 0 || d.Score >= e.Score {
		t.Fatalf("explanation of dave's post %+v, alice's %+v", d, e)
	}
	var l forYouExplanation
	forYouGet(t, addr, token, "/api/v1/timelines/for_you/explain?status_id="+string(liked[0]), &l)
	if l.Served || l.Eligible || !slices.Contains(l.Reasons, "you favourited it already") {
		t.Fatalf("explanation of a post bob liked: %+v", l)
	}
	if code, _ := forYouGet(t, addr, token, "/api/v1/timelines/for_you/explain?status_id=999999999", nil); code != 404 {
		t.Fatalf("explaining an unknown status: %d, want 404", code)
	}
}
