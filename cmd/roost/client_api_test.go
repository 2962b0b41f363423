package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"golang.org/x/net/html"
)

// The Mastodon client API, driven by a real Mastodon client library
// (mattn/go-mastodon) against a real `roost serve` and `roost work`, over
// HTTPS (the node's local CA trusted, as a phone trusts a public one), on
// two tenant domains of one node.

const testPassword = "long enough password"

// hostClient is an HTTP client that sends every request, whatever its
// host, to the node at addr: tenant domains without DNS.
func hostClient(addr string) http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tlsHostClient is hostClient over HTTPS: it trusts only the node's local
// CA (ca, PEM) and checks each certificate against the request's tenant
// domain, as an app on the real domain does.
func tlsHostClient(addr string, ca []byte) http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := hostClient(addr)
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return hc
}

// tlsTenants starts tlsAPINode and returns an HTTPS client for it and the
// base URLs of a.test and b.test (with the node's port, as issued URLs
// carry it).
func tlsTenants(t *testing.T) (hc http.Client, a, b string) {
	t.Helper()
	_, addr, ca := tlsAPINode(t)
	_, port, _ := net.SplitHostPort(addr)
	return tlsHostClient(addr, ca), "https://a.test:" + port, "https://b.test:" + port
}

// getActivityJSON fetches url as ActivityPub JSON with hc and wants 200.
func getActivityJSON(t *testing.T, hc http.Client, url string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// apiNode starts one node with tenants a.test (alice, bob) and b.test
// (carol).
func apiNode(t *testing.T) (*node, string) {
	t.Helper()
	addr := freeAddr(t)
	n := startNode(t, "api", addr, "")
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, a := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@"+a[0], "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	return n, addr
}

// signIn registers an app on server, signs in through the HTML
// authorization page as email, and returns a client holding the token.
func signIn(t *testing.T, addr, server, email, scopes string) *mastodon.Client {
	t.Helper()
	return signInWith(t, hostClient(addr), server, email, scopes)
}

// signInWith is signIn through hc (e.g. tlsHostClient's).
func signInWith(t *testing.T, hc http.Client, server, email, scopes string) *mastodon.Client {
	t.Helper()
	ctx := context.Background()
	app, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{
		Client: hc, Server: server, ClientName: "go-mastodon test", Scopes: scopes,
		RedirectURIs: "urn:ietf:wg:oauth:2.0:oob", Website: "https://example.org/app",
	})
	if err != nil {
		t.Fatalf("register app: %v", err)
	}
	code := authorize(t, hc, app.AuthURI, email)
	c := mastodon.NewClient(&mastodon.Config{Server: server, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	c.Client = hc
	if err := c.GetUserAccessToken(ctx, code, app.RedirectURI); err != nil {
		t.Fatalf("token: %v", err)
	}
	return c
}

// authorize fills in and submits the sign-in and consent form as a person
// would (cookies, hidden CSRF field and all) and returns the code the
// out-of-band page shows.
func authorize(t *testing.T, hc http.Client, authURI, email string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	resp, err := hc.Get(authURI)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", authURI, resp.StatusCode, page)
	}
	action, fields := formOf(t, string(page))
	fields.Set("email", email)
	fields.Set("password", testPassword)
	target, _ := url.Parse(authURI)
	if action != "" {
		ref, _ := url.Parse(action)
		target = target.ResolveReference(ref)
	}
	resp, err = hc.PostForm(target.String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		u, _ := url.Parse(loc)
		if code := u.Query().Get("code"); code != "" {
			return code
		}
	}
	code := textOfID(string(body), "code")
	if resp.StatusCode != 200 || code == "" {
		t.Fatalf("POST authorize: %d, no code\n%s", resp.StatusCode, body)
	}
	return code
}

// formOf returns the first POST form's action and its fields (inputs and
// the approving submit button).
func formOf(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	vals := url.Values{}
	action, found := "", false
	var walk func(n *html.Node, inForm bool)
	walk = func(n *html.Node, inForm bool) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				if found || !strings.EqualFold(attr("method"), "post") {
					return
				}
				found, inForm, action = true, true, attr("action")
			case "input":
				if inForm && attr("name") != "" && attr("type") != "submit" {
					vals.Set(attr("name"), attr("value"))
				}
			case "button", "input_submit":
				v := strings.ToLower(attr("value"))
				if inForm && attr("name") != "" && (strings.Contains(v, "approve") || strings.Contains(v, "authori") || strings.Contains(v, "allow")) {
					vals.Set(attr("name"), attr("value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inForm)
		}
	}
	walk(doc, false)
	if !found {
		t.Fatalf("no POST form on the page:\n%s", page)
	}
	return action, vals
}

// textOfID returns the text inside the element with id (the oob code).
func textOfID(page, id string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return ""
	}
	var out string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if (a.Key == "id" || a.Key == "class") && a.Val == id {
					var b strings.Builder
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						if c.Type == html.TextNode {
							b.WriteString(c.Data)
						}
					}
					out = strings.TrimSpace(b.String())
					if out == "" {
						for _, a := range n.Attr {
							if a.Key == "value" {
								out = a.Val
							}
						}
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func apiStatus(err error) int {
	var e *mastodon.APIError
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func statusIDs(ss []*mastodon.Status) []string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s.ID))
	}
	return out
}

// eventuallyTrue polls cond (a liveness bound, not a timing check).
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClientAPIWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, aBase, bBase := tlsTenants(t)
	alice := signInWith(t, hc, aBase, "alice@a.test", "read write follow")
	bob := signInWith(t, hc, aBase, "bob@a.test", "read write follow")
	carol := signInWith(t, hc, bBase, "carol@b.test", "read write follow")

	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.Username != "alice" || me.Acct != "alice" || me.URL != aBase+"/@alice" {
		t.Fatalf("verify_credentials: %+v", me)
	}
	if _, err := alice.GetInstance(ctx); err != nil {
		t.Fatalf("instance: %v", err)
	}

	// Profile edits are saved and shown.
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{DisplayName: ptr("Alice A."), Note: ptr("I post about #roost")}); err != nil {
		t.Fatalf("update_credentials: %v", err)
	}
	if me, _ = alice.GetAccountCurrentUser(ctx); me.DisplayName != "Alice A." || !strings.Contains(me.Note, "#roost") {
		t.Fatalf("profile not updated: %q %q", me.DisplayName, me.Note)
	}

	// Profile fields federate as PropertyValue, links with rel="me".
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Fields: &[]mastodon.Field{{Name: "Site", Value: "https://alice.example/"}}}); err != nil {
		t.Fatalf("update fields: %v", err)
	}
	actorDoc := getActivityJSON(t, hc, aBase+"/users/alice")
	if !strings.Contains(actorDoc, `"type":"PropertyValue","name":"Site"`) || !strings.Contains(actorDoc, `rel=\"nofollow noopener noreferrer me\"`) {
		t.Fatalf("actor fields: %s", actorDoc)
	}

	// bob follows alice (local delivery on one tenant: accepted at once).
	found, err := bob.AccountLookup(ctx, "alice")
	if err != nil || found.ID != me.ID {
		t.Fatalf("lookup alice: %v %v", found, err)
	}
	rel, err := bob.AccountFollow(ctx, me.ID)
	if err != nil || !rel.Following {
		t.Fatalf("follow: %+v %v", rel, err)
	}
	bobMe, _ := bob.GetAccountCurrentUser(ctx)
	if followers, err := alice.GetAccountFollowers(ctx, me.ID, nil); err != nil || len(followers) != 1 || followers[0].ID != bobMe.ID {
		t.Fatalf("followers: %v %v", followers, err)
	}

	// alice posts; bob sees it at home and is notified of the mention.
	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Hello @bob, welcome to #Roost", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if len(post.Mentions) != 1 || post.Mentions[0].Acct != "bob" || len(post.Tags) != 1 || post.Tags[0].Name != "roost" {
		t.Fatalf("post entities: mentions %+v tags %+v", post.Mentions, post.Tags)
	}
	home, err := bob.GetTimelineHome(ctx, nil)
	if err != nil || len(home) == 0 || home[0].ID != post.ID {
		t.Fatalf("bob's home: %v %v", statusIDs(home), err)
	}
	notes, err := bob.GetNotifications(ctx, nil)
	if err != nil || len(notes) == 0 || notes[0].Type != "mention" || notes[0].Status.ID != post.ID {
		t.Fatalf("bob's notifications: %+v %v", notes, err)
	}
	if notes[len(notes)-1].Type == "follow" {
		t.Fatalf("bob should not have a follow notification")
	}

	// bob replies, likes and boosts; alice is notified of each.
	reply, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice thanks!", InReplyToID: post.ID})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(reply.InReplyToID) != string(post.ID) {
		t.Fatalf("in_reply_to_id = %v", reply.InReplyToID)
	}
	if _, err := bob.Favourite(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Reblog(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	got, err := alice.GetStatus(ctx, post.ID)
	if err != nil || got.RepliesCount != 1 || got.FavouritesCount != 1 || got.ReblogsCount != 1 {
		t.Fatalf("counters: %+v %v", got, err)
	}
	thread, err := alice.GetStatusContext(ctx, post.ID)
	if err != nil || len(thread.Descendants) != 1 || thread.Descendants[0].ID != reply.ID {
		t.Fatalf("context: %+v %v", thread, err)
	}
	types := map[string]bool{}
	anotes, _ := alice.GetNotifications(ctx, nil)
	for _, n := range anotes {
		types[n.Type] = true
	}
	for _, want := range []string{"follow", "mention", "favourite", "reblog"} {
		if !types[want] {
			t.Errorf("alice has no %s notification: %v", want, types)
		}
	}
	if likers, err := alice.GetFavouritedBy(ctx, post.ID, nil); err != nil || len(likers) != 1 || likers[0].Username != "bob" {
		t.Fatalf("favourited_by: %v %v", likers, err)
	}

	// A pinned post is featured, in the API and in the actor's collection.
	if code, body := rawAPI(t, alice, "POST", "/api/v1/statuses/"+string(post.ID)+"/pin"); code != 200 || !strings.Contains(body, `"pinned":true`) {
		t.Fatalf("pin: %d %s", code, body)
	}
	if pinned, err := bob.GetAccountPinnedStatuses(ctx, me.ID); err != nil || len(pinned) != 1 || pinned[0].ID != post.ID {
		t.Fatalf("pinned statuses: %v %v", pinned, err)
	}
	if featured := getActivityJSON(t, hc, aBase+"/users/alice/collections/featured"); !strings.Contains(featured, `"id":"`+post.URI+`"`) {
		t.Fatalf("featured collection: %s", featured)
	}

	// Edits keep their history; deleting returns the source to redraft.
	if _, err := alice.UpdateStatus(ctx, &mastodon.Toot{Status: "Hello @bob, welcome to #Roost (edited)"}, post.ID); err != nil {
		t.Fatalf("edit: %v", err)
	}
	hist, err := alice.GetStatusHistory(ctx, post.ID)
	if err != nil || len(hist) != 2 || !strings.Contains(hist[1].Content, "edited") || strings.Contains(hist[0].Content, "edited") {
		t.Fatalf("history: %+v %v", hist, err)
	}

	// Paging the home timeline with max_id walks every post once, in order.
	var posted []string
	for i := 0; i < 25; i++ {
		s, err := alice.PostStatus(ctx, &mastodon.Toot{Status: fmt.Sprintf("post %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		posted = append(posted, string(s.ID))
	}
	var seen []string
	pg := &mastodon.Pagination{Limit: 10}
	for pages := 0; pages < 10; pages++ {
		page, err := bob.GetTimelineHome(ctx, pg)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		seen = append(seen, statusIDs(page)...)
		if pg.MaxID == "" {
			break
		}
		pg = &mastodon.Pagination{MaxID: pg.MaxID, Limit: 10}
	}
	for i, j := 0, len(posted)-1; i < j; i, j = i+1, j-1 {
		posted[i], posted[j] = posted[j], posted[i]
	}
	if len(seen) < len(posted) || !slices.Equal(seen[:len(posted)], posted) {
		t.Fatalf("paged home = %v, want to start with %v", seen, posted)
	}

	// A followers-only post: bob sees it, carol (another tenant) never does.
	private, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "followers only", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.GetStatus(ctx, private.ID); err != nil {
		t.Fatalf("bob cannot see a followers-only post: %v", err)
	}
	if _, err := carol.GetStatus(ctx, private.ID); apiStatus(err) != 404 {
		t.Fatalf("carol reading alice's followers-only post: %v, want 404", err)
	}

	// carol (another tenant, same node) follows alice: her feed is filled
	// with alice's recent posts (followers-only ones too, now that she is
	// a follower), and emptied of them on unfollow.
	if _, err := carol.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	if ch, err := carol.GetTimelineHome(ctx, &mastodon.Pagination{Limit: 5}); err != nil || len(ch) < 2 || ch[0].ID != private.ID || ch[1].ID != mastodon.ID(posted[0]) {
		t.Fatalf("carol's feed after following alice: %v %v", statusIDs(ch), err)
	}
	if _, err := carol.AccountUnfollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	if ch, err := carol.GetTimelineHome(ctx, nil); err != nil || len(ch) != 0 {
		t.Fatalf("carol's feed after unfollowing alice: %v %v", statusIDs(ch), err)
	}

	// Tokens are bound to their tenant: alice's token means nothing on b.test.
	stolen := mastodon.NewClient(&mastodon.Config{Server: bBase, AccessToken: alice.Config.AccessToken})
	stolen.Client = hc
	if _, err := stolen.GetAccountCurrentUser(ctx); apiStatus(err) != 401 {
		t.Fatalf("alice's token on b.test: %v, want 401", err)
	}
	// b.test's local timeline has carol's posts only; a.test's has alice's.
	cpost, err := carol.PostStatus(ctx, &mastodon.Toot{Status: "carol here", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	bLocal, err := carol.GetTimelinePublic(ctx, true, nil)
	if err != nil || len(bLocal) != 1 || bLocal[0].ID != cpost.ID {
		t.Fatalf("b.test local timeline: %v %v", statusIDs(bLocal), err)
	}
	aLocal, err := bob.GetTimelinePublic(ctx, true, nil)
	if err != nil || len(aLocal) == 0 || aLocal[0].ID != mastodon.ID(posted[0]) ||
		slices.Contains(statusIDs(aLocal), string(cpost.ID)) || slices.Contains(statusIDs(aLocal), string(private.ID)) {
		t.Fatalf("a.test local timeline: %v %v", statusIDs(aLocal), err)
	}

	// A read-only token cannot write.
	reader := signInWith(t, hc, aBase, "alice@a.test", "read")
	if _, err := reader.PostStatus(ctx, &mastodon.Toot{Status: "nope"}); apiStatus(err) != 403 {
		t.Fatalf("read-only token posting: %v, want 403", err)
	}
	if _, err := reader.GetTimelineHome(ctx, nil); err != nil {
		t.Fatalf("read-only token reading: %v", err)
	}

	if err := alice.DeleteStatus(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.GetStatus(ctx, post.ID); apiStatus(err) != 404 {
		t.Fatalf("deleted post: %v, want 404", err)
	}
}

func ptr[T any](v T) *T { return &v }

// rawAPI calls an endpoint go-mastodon lacks, with c's server and token.
func rawAPI(t *testing.T, c *mastodon.Client, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.Config.Server+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Config.AccessToken)
	resp, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A locked account approves followers by hand; a follower asking to be
// notified hears of every new post; boosts can be kept out of the feed.
func TestClientAPIFollowRequestsAndFollowOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, aBase, _ := tlsTenants(t)
	alice := signInWith(t, hc, aBase, "alice@a.test", "read write follow")
	bob := signInWith(t, hc, aBase, "bob@a.test", "read write follow")
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Locked: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	rel, err := bob.AccountFollow(ctx, me.ID)
	if err != nil || rel.Following || !rel.Requested {
		t.Fatalf("follow of a locked account: %+v %v", rel, err)
	}
	reqs, err := alice.GetFollowRequests(ctx, nil)
	if err != nil || len(reqs) != 1 || reqs[0].Username != "bob" {
		t.Fatalf("follow requests: %v %v", reqs, err)
	}
	if ns, _ := alice.GetNotifications(ctx, nil); len(ns) != 1 || ns[0].Type != "follow_request" {
		t.Fatalf("notifications: %+v", ns)
	}
	if err := alice.FollowRequestAuthorize(ctx, reqs[0].ID); err != nil {
		t.Fatal(err)
	}
	if rels, err := bob.GetAccountRelationships(ctx, []string{string(me.ID)}); err != nil || !rels[0].Following {
		t.Fatalf("after approval: %+v %v", rels, err)
	}
	if ns, _ := alice.GetNotifications(ctx, nil); len(ns) != 1 || ns[0].Type != "follow" {
		t.Fatalf("the request notification should become a follow: %+v", ns)
	}

	// notify=true: every new post of alice notifies bob.
	if code, body := rawAPI(t, bob, "POST", "/api/v1/accounts/"+string(me.ID)+"/follow?notify=true&reblogs=false"); code != 200 ||
		!strings.Contains(body, `"notifying":true`) || !strings.Contains(body, `"showing_reblogs":false`) {
		t.Fatalf("follow options: %d %s", code, body)
	}
	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "news!"})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := bob.GetNotifications(ctx, nil)
	if err != nil || len(ns) == 0 || ns[0].Type != "status" || ns[0].Status.ID != post.ID {
		t.Fatalf("status notification: %+v %v", ns, err)
	}

	// Every app sees the ranked feed as a built-in list, "For you".
	lists, err := bob.GetLists(ctx)
	if err != nil || len(lists) != 1 || lists[0].Title != "For you" {
		t.Fatalf("lists: %+v %v", lists, err)
	}
	feed, err := bob.GetTimelineList(ctx, lists[0].ID, nil)
	if err != nil || len(feed) == 0 || !slices.Contains(statusIDs(feed), string(post.ID)) {
		t.Fatalf("For you list timeline: %v %v", statusIDs(feed), err)
	}
	if err := bob.AddToList(ctx, lists[0].ID, me.ID); apiStatus(err) != 422 {
		t.Fatalf("adding a member to For you: %v, want 422", err)
	}
	if err := bob.DeleteList(ctx, lists[0].ID); err != nil {
		t.Fatal(err)
	}
	if lists, err := bob.GetLists(ctx); err != nil || len(lists) != 0 {
		t.Fatalf("a deleted For you list came back: %+v %v", lists, err)
	}
}

// An avatar set from an app (go-mastodon sends it as a data: URI) goes
// through the media pipeline and is served as an image.
func TestClientAPIAvatarUpload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hc, aBase, _ := tlsTenants(t)
	alice := signInWith(t, hc, aBase, "alice@a.test", "read write")
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Avatar: uri}); err != nil {
		t.Fatalf("avatar upload: %v", err)
	}
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil || !strings.HasPrefix(me.Avatar, aBase+"/media/") {
		t.Fatalf("avatar URL: %q %v", me.Avatar, err)
	}
	resp, err := hc.Get(me.Avatar)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET avatar: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Avatar: "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte("<script>"))}); apiStatus(err) != 422 {
		t.Fatalf("an HTML avatar: %v, want 422", err)
	}
}
