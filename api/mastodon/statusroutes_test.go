package mastodon

// Handler tests of issue 17's status and instance routes, on in-file
// fakes (prefix sr). Two tenants: a.example (1) with alice (10),
// b.example (2) with bob (20). Posts: 100 alice's public one, 101 alice's
// followers-only one (only alice sees it), 102 a remote public post with
// a GIF and a video, 200 bob's public one. Uploads: 7 alice's unattached,
// 8 alice's on post 100, 9 bob's unattached.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

var srSites = map[string]*tenant.Site{
	"a.example": {TenantID: 1, Domain: "a.example", TenantName: "A"},
	"b.example": {TenantID: 2, Domain: "b.example", TenantName: "B"},
}

var srTokens = map[string]*oauth.Token{
	"alice": {TenantID: 1, AccountID: 10, Scopes: oauth.Scopes{"read", "write"}},
	"bob":   {TenantID: 2, AccountID: 20, Scopes: oauth.Scopes{"read", "write"}},
}

var srNotFound = errs.E(errs.NotFound, "Record not found")

type srAuth struct{}

func (srAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	t, ok := srTokens[bearer]
	if !ok || t.TenantID != tenantID {
		return nil, errs.E(errs.Unauthorized, "The access token is invalid")
	}
	cp := *t
	return &cp, nil
}

var srAccounts = map[int64]*federation.Account{
	10: {ID: 10, TenantID: 1, Domain: "a.example", Username: "alice", DisplayName: "Alice :party:"},
	20: {ID: 20, TenantID: 2, Domain: "b.example", Username: "bob"},
	30: {ID: 30, Domain: "r.example", Username: "rita", DisplayName: "Rita :blobcat:", Remote: &federation.RemoteInfo{
		URI: "https://r.example/users/rita", Emojis: []federation.RemoteEmoji{
			{Shortcode: "blobcat", URL: "https://r.example/blobcat.png"}, {Shortcode: "unused", URL: "https://r.example/u.png"}}}},
}

type srAccountStore struct{ Accounts }

func (srAccountStore) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	if a, ok := srAccounts[id]; ok {
		return a, nil
	}
	return nil, srNotFound
}

func (srAccountStore) Usage(context.Context, int64) (federation.Usage, error) {
	return federation.Usage{}, nil
}

type srResolver struct{}

func (srResolver) Resolve(_ context.Context, host string) (*tenant.Site, error) {
	if s, ok := srSites[host]; ok {
		return s, nil
	}
	return nil, srNotFound
}

// srWorld is the fixture's mutable state, shared by its fakes.
type srWorld struct {
	mu      sync.Mutex
	posts   map[int64]*federation.Status
	muted   map[[2]int64]bool // account, status
	unread  map[int64]bool    // alice's conversation 5
	uploads map[int64]*media.Attachment
	blobs   map[string]bool
	sent    [][]byte // activities the outbox sent
}

func newSRWorld() *srWorld {
	at := time.Unix(1.7e9, 0)
	return &srWorld{
		posts: map[int64]*federation.Status{
			100: {ID: 100, AccountID: 10, TenantID: 1, Visibility: federation.Public, Content: "hi", URI: "https://a.example/users/alice/statuses/100", Published: at,
				Attachments: []federation.Attachment{{Type: "Document", MediaType: "image/png", URL: "https://a.example/media/8.png", MediaID: 8, Description: "old"}}},
			101: {ID: 101, AccountID: 10, TenantID: 1, Visibility: federation.Private, Content: "secret", URI: "https://a.example/users/alice/statuses/101", Published: at},
			102: {ID: 102, AccountID: 30, Visibility: federation.Public, Content: "remote :wave:", URI: "https://r.example/102", Published: at,
				Emojis: []federation.RemoteEmoji{{Shortcode: "wave", URL: "https://r.example/wave.gif"}, {Shortcode: "blobcat", URL: "https://r.example/blobcat.png"}},
				Attachments: []federation.Attachment{
					{Type: "Document", MediaType: "image/gif", URL: "https://r.example/a.gif", Width: 20, Height: 10},
					{Type: "Document", MediaType: "video/mp4", URL: "https://r.example/v.mp4", PreviewURL: "https://r.example/v.png", PreviewWidth: 40, PreviewHeight: 30},
					{Type: "Document", MediaType: "video/mp4", URL: "https://r.example/w.mp4"},
				}},
			200: {ID: 200, AccountID: 20, TenantID: 2, Visibility: federation.Public, Content: "bob's", URI: "https://b.example/users/bob/statuses/200", Published: at},
		},
		muted:  map[[2]int64]bool{},
		unread: map[int64]bool{},
		uploads: map[int64]*media.Attachment{
			7: {ID: 7, TenantID: 1, AccountID: 10, Kind: media.Image, ContentType: "image/png", FileKey: "7.png", ThumbKey: "7s.png", ThumbContentType: "image/png", State: media.Ready},
			8: {ID: 8, TenantID: 1, AccountID: 10, StatusID: 100, Kind: media.Image, ContentType: "image/png", FileKey: "8.png", State: media.Ready, Description: "old"},
			9: {ID: 9, TenantID: 2, AccountID: 20, Kind: media.Image, ContentType: "image/png", FileKey: "9.png", State: media.Ready},
		},
		blobs: map[string]bool{"7.png": true, "7s.png": true, "8.png": true, "9.png": true},
	}
}

// sees is the fixture's one visibility rule: public posts anyone,
// others their author only.
func (w *srWorld) sees(viewer int64, st *federation.Status) bool {
	return st.Visibility == federation.Public || st.AccountID == viewer
}

type srViews struct {
	federation.ViewStore
	w *srWorld
}

func (v srViews) StatusViews(_ context.Context, viewer int64, ids []int64) ([]*federation.StatusView, error) {
	v.w.mu.Lock()
	defer v.w.mu.Unlock()
	var out []*federation.StatusView
	for _, id := range ids {
		if st, ok := v.w.posts[id]; ok && v.w.sees(viewer, st) {
			cp := *st
			out = append(out, &federation.StatusView{Status: &cp, Muted: v.w.muted[[2]int64{viewer, id}]})
		}
	}
	return out, nil
}

func (v srViews) AccountViews(_ context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	out := map[int64]*federation.AccountView{}
	for _, id := range ids {
		if a, ok := srAccounts[id]; ok {
			out[id] = &federation.AccountView{Account: a}
		}
	}
	return out, nil
}

type srThreads struct{ w *srWorld }

func (t srThreads) MuteThread(_ context.Context, accountID, statusID int64, on bool) error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	st, ok := t.w.posts[statusID]
	if !ok || !t.w.sees(accountID, st) {
		return srNotFound
	}
	t.w.muted[[2]int64{accountID, statusID}] = on
	return nil
}

func (t srThreads) MarkConversationUnread(_ context.Context, accountID, id int64) error {
	t.w.mu.Lock()
	defer t.w.mu.Unlock()
	if accountID != 10 || id != 5 {
		return srNotFound
	}
	t.w.unread[id] = true
	return nil
}

type srConversations struct {
	federation.ConversationStore
	w *srWorld
}

func (c srConversations) Conversation(_ context.Context, accountID, id int64) (*federation.Conversation, error) {
	if accountID != 10 || id != 5 {
		return nil, srNotFound
	}
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return &federation.Conversation{ID: 5, ParticipantIDs: []int64{20}, LastStatusID: 100, Unread: c.w.unread[5]}, nil
}

// srMedia is media.Store and media.Blobs over the world's uploads.
type srMedia struct{ w *srWorld }

func (m srMedia) CreateMedia(context.Context, *media.Attachment) (*media.Attachment, error) {
	return nil, errs.E(errs.Invalid, "no uploads here")
}

func (m srMedia) MediaByIDs(_ context.Context, accountID int64, ids []int64) ([]*media.Attachment, error) {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	var out []*media.Attachment
	for _, id := range ids {
		if a, ok := m.w.uploads[id]; ok && a.AccountID == accountID {
			cp := *a
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (m srMedia) UpdateMedia(context.Context, int64, int64, string, float64, float64) (*media.Attachment, error) {
	return nil, srNotFound
}

func (m srMedia) MediaFile(context.Context, int64, string) (string, error) { return "", srNotFound }

func (m srMedia) DescribeMedia(_ context.Context, accountID, statusID, id int64, d string, fx, fy float64) error {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	a, ok := m.w.uploads[id]
	if !ok || a.AccountID != accountID || (a.StatusID != 0 && a.StatusID != statusID) {
		return srNotFound
	}
	a.Description, a.FocusX, a.FocusY = d, fx, fy
	return nil
}

func (m srMedia) DeleteMedia(_ context.Context, accountID, id int64) ([]string, error) {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	a, ok := m.w.uploads[id]
	if !ok || a.AccountID != accountID || a.StatusID != 0 {
		return nil, srNotFound
	}
	delete(m.w.uploads, id)
	return []string{a.FileKey, a.ThumbKey}, nil
}

func (m srMedia) Put(context.Context, string, io.Reader, int64, string) error { return nil }

func (m srMedia) Get(context.Context, string) (io.ReadCloser, int64, error) {
	return nil, 0, srNotFound
}

func (m srMedia) Delete(_ context.Context, key string) error {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	delete(m.w.blobs, key)
	return nil
}

// srOutbox is what outbox.Service needs to edit alice's posts: the
// world's posts, one remote follower, and the activities it sends.
type srOutbox struct {
	outbox.Store
	w *srWorld
}

func (o srOutbox) EditLocalStatus(_ context.Context, uri string, accountID int64, e federation.StatusEdit) (*federation.Status, error) {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	for _, st := range o.w.posts {
		if st.URI == uri && st.AccountID == accountID {
			st.Content, st.Attachments = e.Content, e.Attachments
			cp := *st
			cp.To = []string{"https://www.w3.org/ns/activitystreams#Public"}
			return &cp, nil
		}
	}
	return nil, srNotFound
}

type srLocals struct{ federation.Locals }

func (srLocals) Links(_ context.Context, a *federation.Account) (federation.Links, error) {
	return federation.NewLinks("https", a.Domain, 0), nil
}

type srMover struct{ outbox.Mover }

func (srMover) FollowerInboxes(context.Context, int64) ([]string, error) {
	return []string{"https://r.example/inbox"}, nil
}

func (o srOutbox) Send(_ context.Context, _ int64, _ string, body []byte, _ []string, _ bool) error {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	o.w.sent = append(o.w.sent, body)
	return nil
}

// srInstance is the instance routes' store: tenant 1 follows r.example
// and its owner is alice; tenant 2 has neither.
type srInstance struct{}

func (srInstance) Peers(_ context.Context, tenantID int64, _ int) ([]string, error) {
	if tenantID == 1 {
		return []string{"r.example"}, nil
	}
	return nil, nil
}

func (srInstance) Activity(_ context.Context, tenantID int64, weeks int, now time.Time) ([]federation.InstanceActivity, error) {
	out := make([]federation.InstanceActivity, weeks)
	for i := range out {
		out[i].Week = time.Unix(1.7e9, 0).Add(-time.Duration(i) * 7 * 24 * time.Hour)
	}
	if tenantID == 1 {
		out[0].Statuses, out[0].Logins, out[0].Registrations = 3, 1, 1
	}
	return out, nil
}

func (srInstance) Owner(_ context.Context, tenantID int64) (int64, error) {
	if tenantID == 1 {
		return 10, nil
	}
	return 0, srNotFound
}

type srFixture struct {
	w   *srWorld
	app *fiber.App
}

func newSRFixture(t *testing.T) *srFixture {
	t.Helper()
	w := newSRWorld()
	ob := srOutbox{w: w}
	h := &Handler{Auth: srAuth{}, Accounts: srAccountStore{}, Views: srViews{w: w}, Client: shClient{}, Sites: srResolver{},
		URL:     httpx.URLConfig{Scheme: "https"},
		Outbox:  &outbox.Service{Store: ob, Send: ob, Locals: srLocals{}, Mover: srMover{}, Scheme: "https"},
		Media:   &media.Service{Store: srMedia{w: w}, Blobs: srMedia{w: w}},
		Threads: srThreads{w: w}, Conversations: srConversations{w: w}, InstanceData: srInstance{}, Emojis: srEmojis{},
	}
	f := &srFixture{w: w, app: fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})}
	f.app.Use(func(c *fiber.Ctx) error {
		s, ok := srSites[c.Hostname()]
		if !ok {
			return srNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(f.app)
	return f
}

// do sends a request on host with token ("": none); a body starting with
// '{' is JSON, any other non-empty one a form.
func (f *srFixture) do(t *testing.T, method, host, path, token, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, "https://"+host+path, strings.NewReader(body))
	switch {
	case strings.HasPrefix(body, "{"):
		req.Header.Set("Content-Type", "application/json")
	case body != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func srIDs(t *testing.T, body string) []string {
	t.Helper()
	var got []Status
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	ids := []string{}
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	return ids
}

// TestIssue17StatusesByID: GET /api/v1/statuses?id[]= renders the posts
// the viewer may see, in the order asked, skipping the others, repeats
// and (as Mastodon's StatusFilter) posts of accounts the viewer mutes;
// more than 20 ids is a 422, none an empty array. Bob, on tenant B, never
// sees alice's followers-only post through it.
func TestIssue17StatusesByID(t *testing.T) {
	f := newSRFixture(t)
	cases := []struct {
		token, query string
		want         string
	}{
		{"alice", "?id[]=101&id[]=100&id[]=999&id[]=100&id[]=x", "101,100"},
		{"alice", "?id[]=200&id[]=102", "102"}, // alice mutes bob (shape_test.go)
		{"bob", "?id[]=101&id[]=100&id[]=200", "100,200"},
		{"", "?id[]=101&id[]=200", "200"},
		{"alice", "?id=100", "100"},
		{"alice", "", ""},
	}
	for _, c := range cases {
		code, body := f.do(t, "GET", srHost(c.token), "/api/v1/statuses"+c.query, c.token, "")
		if code != 200 || strings.Join(srIDs(t, body), ",") != c.want {
			t.Errorf("%s %s: %d %s", c.token, c.query, code, body)
		}
	}
	q := url.Values{}
	for i := 1; i <= 21; i++ {
		q.Add("id[]", idStr(int64(i)))
	}
	if code, _ := f.do(t, "GET", "a.example", "/api/v1/statuses?"+q.Encode(), "alice", ""); code != 422 {
		t.Errorf("21 ids: %d", code)
	}
}

func srHost(token string) string {
	if token == "bob" {
		return "b.example"
	}
	return "a.example"
}

// TestIssue17MuteThread: mute and unmute answer the status with muted
// set; another tenant's account cannot mute (or learn of) a post it may
// not see, and changes nothing; a token of tenant A is refused on B.
func TestIssue17MuteThread(t *testing.T) {
	f := newSRFixture(t)
	code, body := f.do(t, "POST", "a.example", "/api/v1/statuses/101/mute", "alice", "")
	if code != 200 || !strings.Contains(body, `"muted":true`) || !f.w.muted[[2]int64{10, 101}] {
		t.Fatalf("mute: %d %s", code, body)
	}
	code, body = f.do(t, "POST", "a.example", "/api/v1/statuses/101/unmute", "alice", "")
	if code != 200 || !strings.Contains(body, `"muted":false`) || f.w.muted[[2]int64{10, 101}] {
		t.Fatalf("unmute: %d %s", code, body)
	}
	before := len(f.w.muted)
	for _, c := range []struct{ host, path, token string }{
		{"b.example", "/api/v1/statuses/101/mute", "bob"},   // alice's followers-only post
		{"b.example", "/api/v1/statuses/999/mute", "bob"},   // none
		{"b.example", "/api/v1/statuses/101/mute", "alice"}, // A's token on B
		{"a.example", "/api/v1/statuses/101/mute", ""},
	} {
		code, body := f.do(t, "POST", c.host, c.path, c.token, "")
		if code != 404 && code != 401 || strings.Contains(body, "secret") {
			t.Errorf("%s %s as %q: %d %s", c.host, c.path, c.token, code, body)
		}
	}
	if len(f.w.muted) != before || f.w.muted[[2]int64{20, 101}] {
		t.Errorf("refused mutes changed something: %v", f.w.muted)
	}
}

// TestIssue17ConversationUnread: POST /conversations/:id/unread marks the
// viewer's own conversation unread; bob's token finds nothing.
func TestIssue17ConversationUnread(t *testing.T) {
	f := newSRFixture(t)
	if code, _ := f.do(t, "POST", "b.example", "/api/v1/conversations/5/unread", "bob", ""); code != 404 || f.w.unread[5] {
		t.Fatalf("bob: %d, unread %v", code, f.w.unread[5])
	}
	code, body := f.do(t, "POST", "a.example", "/api/v1/conversations/5/unread", "alice", "")
	if code != 200 || !strings.Contains(body, `"unread":true`) || !f.w.unread[5] {
		t.Fatalf("alice: %d %s", code, body)
	}
}

// TestIssue17DeleteMedia: an unattached upload of the viewer's goes with
// its files; one on a post is a 422 and stays; another tenant's account
// gets 404 for alice's upload and deletes nothing.
func TestIssue17DeleteMedia(t *testing.T) {
	f := newSRFixture(t)
	if code, body := f.do(t, "DELETE", "b.example", "/api/v1/media/7", "bob", ""); code != 404 || f.w.uploads[7] == nil {
		t.Fatalf("bob on alice's: %d %s", code, body)
	}
	if code, body := f.do(t, "DELETE", "a.example", "/api/v1/media/8", "alice", ""); code != 422 || f.w.uploads[8] == nil ||
		!strings.Contains(body, "currently used by a status") {
		t.Fatalf("attached: %d %s", code, body)
	}
	if code, _ := f.do(t, "DELETE", "a.example", "/api/v1/media/9", "alice", ""); code != 404 || f.w.uploads[9] == nil {
		t.Fatalf("alice on bob's: %d", code)
	}
	code, body := f.do(t, "DELETE", "a.example", "/api/v1/media/7", "alice", "")
	if code != 200 || body != "{}" || f.w.uploads[7] != nil || f.w.blobs["7.png"] || f.w.blobs["7s.png"] {
		t.Fatalf("delete: %d %s, left %v %v", code, body, f.w.uploads[7], f.w.blobs)
	}
}

// TestIssue17EditMediaAttributes: PUT /statuses/:id with
// media_attributes[] changes the alt text of the post's media — in the
// answer, on the upload's record, and in the Update sent to followers —
// in JSON and in Rails' form arrays alike; bad alt text changes nothing.
func TestIssue17EditMediaAttributes(t *testing.T) {
	for _, body := range []string{
		`{"status":"hi again","media_ids":["8"],"media_attributes":[{"id":"8","description":"a red kite","focus":"0.5,-0.5"}]}`,
		"status=hi+again&media_ids[]=8&media_attributes[][id]=8&media_attributes[][description]=a+red+kite&media_attributes[][focus]=0.5,-0.5",
	} {
		f := newSRFixture(t)
		code, out := f.do(t, "PUT", "a.example", "/api/v1/statuses/100", "alice", body)
		if code != 200 || !strings.Contains(out, `"description":"a red kite"`) {
			t.Fatalf("%s: %d %s", body, code, out)
		}
		if a := f.w.uploads[8]; a.Description != "a red kite" || a.FocusX != 0.5 || a.FocusY != -0.5 {
			t.Errorf("record: %+v", a)
		}
		if len(f.w.sent) != 1 || !bytes.Contains(f.w.sent[0], []byte(`"name":"a red kite"`)) ||
			!bytes.Contains(f.w.sent[0], []byte(`"type":"Update"`)) {
			t.Errorf("federated: %q", f.w.sent)
		}
	}
	f := newSRFixture(t)
	long := strings.Repeat("x", media.MaxDescription+1)
	code, _ := f.do(t, "PUT", "a.example", "/api/v1/statuses/100", "alice",
		`{"status":"hi again","media_ids":["8"],"media_attributes":[{"id":"8","description":"`+long+`"}]}`)
	if code != 422 || f.w.uploads[8].Description != "old" || len(f.w.sent) != 0 || f.w.posts[100].Content != "hi" {
		t.Fatalf("too long: %d, %q, sent %d", code, f.w.uploads[8].Description, len(f.w.sent))
	}
}

// TestIssue17StatusEntityFixes: a signed-in viewer always gets filtered
// (an empty array), an anonymous one never; a remote GIF is an image,
// never gifv; a remote video previews by its icon, with meta.small, or
// by nothing — never by the video itself.
func TestIssue17StatusEntityFixes(t *testing.T) {
	f := newSRFixture(t)
	_, body := f.do(t, "GET", "a.example", "/api/v1/statuses/102", "alice", "")
	if !strings.Contains(body, `"filtered":[]`) {
		t.Errorf("signed in: %s", body)
	}
	_, anon := f.do(t, "GET", "a.example", "/api/v1/statuses/102", "", "")
	if strings.Contains(anon, `"filtered"`) {
		t.Errorf("anonymous: %s", anon)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.MediaAttachments) != 3 {
		t.Fatalf("%v %s", err, body)
	}
	gif, video, bare := st.MediaAttachments[0], st.MediaAttachments[1], st.MediaAttachments[2]
	if gif.Type != "image" || gif.PreviewURL == nil || *gif.PreviewURL != "https://r.example/a.gif" {
		t.Errorf("gif: %+v", gif)
	}
	small, _ := video.Meta.(map[string]any)["small"].(map[string]any)
	if video.Type != "video" || video.PreviewURL == nil || *video.PreviewURL != "https://r.example/v.png" || small["width"] != 40.0 {
		t.Errorf("video: %+v", video)
	}
	if bare.Type != "video" || bare.PreviewURL != nil {
		t.Errorf("video without a preview: %+v", bare)
	}
}

// TestIssue17SearchUnknownTypeFindsNothing: an unknown type is empty
// results, as on Mastodon (it was a 422).
func TestIssue17SearchUnknownTypeFindsNothing(t *testing.T) {
	f := newSHFixture(t)
	status, body := f.do(t, "GET", "a.example", "/api/v2/search?q=x&type=links", "alice", nil)
	if status != 200 || body != `{"accounts":[],"statuses":[],"hashtags":[]}` {
		t.Fatalf("%d %s", status, body)
	}
}

// TestIssue17RemoteEmojisRendered: a remote post shows the custom emojis
// it came with that its text uses, and its author's name those of the
// profile, from their own server, as Mastodon renders them.
func TestIssue17RemoteEmojisRendered(t *testing.T) {
	f := newSRFixture(t)
	_, body := f.do(t, "GET", "a.example", "/api/v1/statuses/102", "", "")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Emojis) != 1 || st.Emojis[0] != (Emoji{Shortcode: "wave", URL: "https://r.example/wave.gif", StaticURL: "https://r.example/wave.gif"}) {
		t.Errorf("status emojis: %+v", st.Emojis)
	}
	if len(st.Account.Emojis) != 1 || st.Account.Emojis[0].Shortcode != "blobcat" || st.Account.Emojis[0].URL != "https://r.example/blobcat.png" {
		t.Errorf("account emojis: %+v", st.Account.Emojis)
	}
}

// srEmojis: tenant 1 has :party:, tenant 2 has its own :party:.
type srEmojis struct{ federation.EmojiStore }

func (srEmojis) EmojisByShortcode(_ context.Context, tenants []int64, codes []string) ([]federation.CustomEmoji, error) {
	var out []federation.CustomEmoji
	for _, t := range tenants {
		for _, c := range codes {
			if c == "party" {
				out = append(out, federation.CustomEmoji{TenantID: t, Shortcode: c, ContentType: "image/png", VisibleInPicker: t == 1})
			}
		}
	}
	return out, nil
}

// TestIssue17LocalAccountEmojis: a local account's name shows its
// tenant's custom emojis, on its profile and on its posts, served from
// its own domain.
func TestIssue17LocalAccountEmojis(t *testing.T) {
	f := newSRFixture(t)
	want := Emoji{Shortcode: "party", URL: "https://a.example/custom_emojis/party.png",
		StaticURL: "https://a.example/custom_emojis/party.png", VisibleInPicker: true}
	var a Account
	if _, body := f.do(t, "GET", "b.example", "/api/v1/accounts/10", "", ""); json.Unmarshal([]byte(body), &a) != nil ||
		len(a.Emojis) != 1 || a.Emojis[0] != want {
		t.Errorf("profile: %s", body)
	}
	var st Status
	if _, body := f.do(t, "GET", "a.example", "/api/v1/statuses/100", "alice", ""); json.Unmarshal([]byte(body), &st) != nil ||
		len(st.Account.Emojis) != 1 || st.Account.Emojis[0] != want {
		t.Errorf("post: %s", body)
	}
}
