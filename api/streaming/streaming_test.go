package streaming

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Tenants of the test nodes: a.test is tenant 1, b.test tenant 2.
var sites = map[string]*tenant.Site{
	"a.test": {TenantID: 1, Domain: "a.test", Status: tenant.Active},
	"b.test": {TenantID: 2, Domain: "b.test", Status: tenant.Active},
}

// Tokens: alice (account 11) and bob (12) on tenant 1, carol (21) on
// tenant 2; an app token; a token that may not read notifications.
var tokens = map[string]*oauth.Token{
	"alice":     {TenantID: 1, AccountID: 11, Scopes: oauth.Scopes{"read", "write"}},
	"bob":       {TenantID: 1, AccountID: 12, Scopes: oauth.Scopes{"read:statuses"}},
	"carol":     {TenantID: 2, AccountID: 21, Scopes: oauth.Scopes{"read"}},
	"app":       {TenantID: 1, Scopes: oauth.Scopes{"read"}},
	"writeonly": {TenantID: 1, AccountID: 11, Scopes: oauth.Scopes{"write"}},
	"dave":      {TenantID: 1, AccountID: 13, Scopes: oauth.Scopes{"read"}},
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	t, ok := tokens[bearer]
	if !ok || t.TenantID != tenantID {
		return nil, errs.E(errs.Unauthorized, "invalid token")
	}
	return t, nil
}

// fakeRender renders which viewer and site an entity was rendered for;
// status 666 is visible to its author (11) only; status 777 is hidden by
// a filter in the home context, and 778 put behind a warning in public.
type fakeRender struct{}

func (fakeRender) RenderStatus(_ context.Context, site *tenant.Site, viewerID, id int64, filterContext filter.Where) ([]byte, error) {
	if id == 666 && viewerID != 11 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if id == 777 && filterContext == "home" {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if id == 778 && filterContext == "public" {
		return fmt.Appendf(nil, `{"id":"%d","viewer":%d,"filtered":[{"filter":{"title":"x"}}]}`, id, viewerID), nil
	}
	media := "[]"
	if id%2 == 1 {
		media = `[{"id":"1"}]`
	}
	return fmt.Appendf(nil, `{"id":"%d","viewer":%d,"site":%q,"media_attachments":%s}`, id, viewerID, site.Domain, media), nil
}

func (fakeRender) RenderNotification(_ context.Context, site *tenant.Site, viewerID, id int64) ([]byte, error) {
	return fmt.Appendf(nil, `{"id":"%d","type":"mention","viewer":%d}`, id, viewerID), nil
}

func (fakeRender) RenderConversation(_ context.Context, site *tenant.Site, viewerID, id int64) ([]byte, error) {
	return fmt.Appendf(nil, `{"id":"%d","viewer":%d}`, id, viewerID), nil
}

// testNode is one web node: its hub and app on a loopback port.
type testNode struct {
	addr string
	hub  *Hub
}

func startNode(t *testing.T, client goredis.UniversalClient, prefix string, h *Handler) *testNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hub := NewHub(client, prefix, nil)
	done := make(chan struct{})
	go func() {
		hub.Run(ctx)
		close(done)
	}()
	h.Auth, h.Render, h.Hub = fakeAuth{}, fakeRender{}, hub
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: httpx.ErrorHandler,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	app.Use(func(c *fiber.Ctx) error {
		site, ok := sites[c.Hostname()]
		if !ok {
			return errs.E(errs.NotFound, "unknown host")
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	h.Register(app)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		cancel()
		<-done
		app.ShutdownWithTimeout(time.Second)
	})
	return &testNode{addr: ln.Addr().String(), hub: hub}
}

// publish announces a database event as the relay would.
func publish(t *testing.T, client goredis.UniversalClient, prefix, payload string) {
	t.Helper()
	(&Publisher{Redis: client, Prefix: prefix}).Publish(context.Background(), payload)
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// openSSE opens a stream on node as host with token and returns its events.
func openSSE(t *testing.T, n *testNode, host, path, token string) (<-chan sseEvent, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.addr+path, nil)
	req.Host = host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, resp
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan sseEvent, 64)
	opened := make(chan struct{})
	go func() {
		defer close(ch)
		r := bufio.NewReader(resp.Body)
		var name string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == ":)":
				close(opened)
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ch <- sseEvent{name, strings.TrimPrefix(line, "data: ")}
			}
		}
	}()
	select {
	case <-opened: // subscribed: what is published from now on is heard
	case <-time.After(10 * time.Second):
		t.Fatal("stream never opened")
	}
	return ch, resp
}

func dialWS(t *testing.T, n *testNode, host, query string, header http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Host", host)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: protocols}
	c, resp, err := d.Dial("ws://"+n.addr+"/api/v1/streaming"+query, header)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// wsFrames reads a socket's messages into a channel.
func wsFrames(c *websocket.Conn) <-chan map[string]any {
	ch := make(chan map[string]any, 64)
	go func() {
		defer close(ch)
		for {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil {
				return
			}
			ch <- m
		}
	}()
	return ch
}

func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: stream closed", what)
		}
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing received", what)
	}
	panic("unreachable")
}

func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("%s: got %v", what, v)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// subscribeWS subscribes and waits until the node's hub has the channel
// confirmed (the socket answers nothing on success).
func subscribeWS(t *testing.T, c *websocket.Conn, n *testNode, req map[string]string) {
	t.Helper()
	before := confirmed(n.hub)
	if err := c.WriteJSON(req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, fmt.Sprintf("subscribed %v", req), func() bool { return confirmed(n.hub) > before })
}

// confirmed counts the channels Redis confirmed the node subscribed to.
func confirmed(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.confirmed)
}

// Two nodes share Redis: an event published once reaches the connections
// of both, each rendered for its own viewer; tenant B's public streams
// never carry tenant A's events; what a viewer may not see is not sent.
func TestStreamingAcrossNodes(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n1 := startNode(t, client, prefix, &Handler{})
	n2 := startNode(t, client, prefix, &Handler{})

	aliceSSE, _ := openSSE(t, n2, "a.test", "/api/v1/streaming/user", "alice")
	aliceNotes, _ := openSSE(t, n1, "a.test", "/api/v1/streaming/user/notification", "alice")
	carolLocal, _ := openSSE(t, n2, "b.test", "/api/v1/streaming/public/local", "carol")
	anonTag, _ := openSSE(t, n1, "a.test", "/api/v1/streaming/hashtag/local?tag=Roost", "")

	// bob on node 1 over WebSocket: token as the subprotocol (echoed).
	bobWS, resp, err := dialWS(t, n1, "a.test", "?stream=user", nil, "bob")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "bob" {
		t.Fatalf("subprotocol echoed %q", p)
	}
	bobFrames := wsFrames(bobWS)
	waitFor(t, "node 1 subscribed", func() bool { return confirmed(n1.hub) == 3 }) // alice's notifications, the tag, bob
	subscribeWS(t, bobWS, n1, map[string]string{"type": "subscribe", "stream": "public:local"})
	subscribeWS(t, bobWS, n1, map[string]string{"type": "subscribe", "stream": "hashtag", "tag": "#roost"})

	// Home feeds of alice and bob.
	publish(t, client, prefix, `{"e":"update","id":100,"u":[11,12]}`)
	if e := next(t, aliceSSE, "alice's update"); e.name != "update" || e.data != `{"id":"100","viewer":11,"site":"a.test","media_attachments":[]}` {
		t.Fatalf("alice's update: %+v", e)
	}
	f := next(t, bobFrames, "bob's update")
	if fmt.Sprint(f["stream"]) != "[user]" || f["event"] != "update" || f["payload"] != `{"id":"100","viewer":12,"site":"a.test","media_attachments":[]}` {
		t.Fatalf("bob's frame: %v", f)
	}

	// A notification reaches the user and user:notification streams.
	publish(t, client, prefix, `{"e":"notification","id":7,"u":[11]}`)
	if e := next(t, aliceSSE, "notification on user"); e.name != "notification" || !strings.Contains(e.data, `"viewer":11`) {
		t.Fatalf("notification: %+v", e)
	}
	if e := next(t, aliceNotes, "notification on user:notification"); e.name != "notification" {
		t.Fatalf("notification: %+v", e)
	}

	// A local public status of tenant 1 with a tag: bob hears it on both
	// his public:local and hashtag subscriptions, the anonymous tag stream
	// too; carol (tenant 2) does not.
	publish(t, client, prefix, `{"e":"update","id":101,"pl":[1],"tags":["roost"]}`)
	got := map[string]bool{}
	for range 2 {
		f := next(t, bobFrames, "bob's public frames")
		got[fmt.Sprint(f["stream"])] = true
	}
	if !got["[public:local]"] || !got["[hashtag #roost]"] { // the tag as the client spelled it, as on Mastodon
		t.Fatalf("bob's public frames: %v", got)
	}
	if e := next(t, anonTag, "anonymous tag stream"); !strings.Contains(e.data, `"viewer":0`) {
		t.Fatalf("anonymous render: %+v", e)
	}
	// Tenant 2's own local status does reach carol, and only it.
	publish(t, client, prefix, `{"e":"update","id":201,"pl":[2]}`)
	if e := next(t, carolLocal, "carol's local stream"); !strings.Contains(e.data, `"id":"201"`) || !strings.Contains(e.data, `"site":"b.test"`) {
		t.Fatalf("carol got %+v, want status 201", e)
	}

	// A status bob may not see is not sent to him; alice (its author) gets it.
	publish(t, client, prefix, `{"e":"update","id":666,"u":[11,12]}`)
	if e := next(t, aliceSSE, "visible to alice"); !strings.Contains(e.data, `"id":"666"`) {
		t.Fatalf("alice: %+v", e)
	}
	// Deletes carry the id to everyone.
	publish(t, client, prefix, `{"e":"delete","id":100,"u":[11,12],"pl":[1]}`)
	if e := next(t, aliceSSE, "delete"); e.name != "delete" || e.data != "100" {
		t.Fatalf("alice's delete: %+v", e)
	}
	for range 2 { // user and public:local
		f := next(t, bobFrames, "bob's delete")
		if f["event"] != "delete" || f["payload"] != "100" {
			t.Fatalf("bob's frame (666 must not be sent): %v", f)
		}
	}
	none(t, carolLocal, "carol's local stream")

	// Unsubscribing stops the frames.
	subscribeCount, _ := n1.hub.channels()
	bobWS.WriteJSON(map[string]string{"type": "unsubscribe", "stream": "public:local"})
	waitFor(t, "unsubscribed", func() bool { c, _ := n1.hub.channels(); return c == subscribeCount-1 })
	publish(t, client, prefix, `{"e":"update","id":102,"pl":[1]}`)
	none(t, bobFrames, "bob after unsubscribing")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Tokens follow the REST API's rules: bound to their tenant, with reading
// scopes; user streams need a user.
func TestStreamingRefusals(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{})
	get := func(host, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+n.addr+path, nil)
		req.Host = host
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("a.test", "/api/v1/streaming/health", ""); code != 200 || body != "OK" {
		t.Fatalf("health: %d %q", code, body)
	}
	for _, c := range []struct {
		host, path, token string
		want              int
	}{
		{"b.test", "/api/v1/streaming/user", "alice", 401},              // tenant A's token on tenant B
		{"b.test", "/api/v1/streaming/public", "alice", 401},            // even for a public stream
		{"a.test", "/api/v1/streaming/user", "", 401},                   // no token
		{"a.test", "/api/v1/streaming/user", "app", 401},                // no user
		{"a.test", "/api/v1/streaming/user", "writeonly", 401},          // no read scope
		{"a.test", "/api/v1/streaming/user/notification", "bob", 401},   // read:statuses only
		{"a.test", "/api/v1/streaming/direct", "", 401},                 // no token
		{"a.test", "/api/v1/streaming/hashtag", "alice", 400},           // no tag
		{"a.test", "/api/v1/streaming/list?list=1", "alice", 404},       // no such list
		{"a.test", "/api/v1/streaming?stream=nonsense", "alice", 400},   // unknown stream
		{"a.test", "/api/v1/streaming/public", "writeonly", 401},        // a token needs a read scope
		{"a.test", "/api/v1/streaming/public/remote/media", "app", 200}, // app tokens read public streams
	} {
		if c.want == 200 {
			if _, resp := openSSE(t, n, c.host, c.path, c.token); resp.StatusCode != 200 {
				t.Errorf("%s%s (%s): %d, want 200", c.host, c.path, c.token, resp.StatusCode)
			}
			continue
		}
		if code, body := get(c.host, c.path, c.token); code != c.want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s%s (%s): %d %s, want %d", c.host, c.path, c.token, code, body, c.want)
		}
	}

	// The WebSocket handshake refuses a bad token before upgrading.
	if _, resp, err := dialWS(t, n, "b.test", "?access_token=alice&stream=user", nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("websocket with tenant A's token on B: %v %v", resp, err)
	}
	// An open socket refuses what the token may not read, and stays open.
	c, _, err := dialWS(t, n, "a.test", "?access_token=bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := wsFrames(c)
	for _, req := range []map[string]string{
		{"type": "subscribe", "stream": "user:notification"},
		{"type": "subscribe", "stream": "bogus"},
	} {
		c.WriteJSON(req)
		if f := next(t, frames, fmt.Sprint(req)); f["error"] == nil || f["status"] == nil {
			t.Fatalf("%v: %v", req, f)
		}
	}
	subscribeWS(t, c, n, map[string]string{"type": "subscribe", "stream": "user"})
	publish(t, client, prefix, `{"e":"update","id":300,"u":[12]}`)
	if f := next(t, frames, "update after refusals"); f["event"] != "update" {
		t.Fatalf("got %v", f)
	}
}

// recorder is a listener that records what it is given.
type recorder struct {
	mu  sync.Mutex
	got []event
}

func (r *recorder) deliver(ev event) bool {
	r.mu.Lock()
	r.got = append(r.got, ev)
	r.mu.Unlock()
	return true
}
func (r *recorder) stop() {}
func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// A node holds one Redis subscription per channel, whatever the number of
// connections, and fans out in process; a connection that does not keep
// up is closed without holding up the others.
func TestStreamHubFanOutAndSlowConnections(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub(client, prefix, nil)
	go hub.Run(ctx)
	h := &Handler{Hub: hub, Buffer: 3}

	var fast []*recorder
	for range 5 {
		r := &recorder{}
		fast = append(fast, r)
		if err := hub.subscribe(ctx, r, userChannel(1), publicChannel(1, "")); err != nil {
			t.Fatal(err)
		}
	}
	slow := h.newSession(&viewer{site: sites["a.test"], userID: 1})
	if err := slow.add(ctx, &stream{name: []string{"user"}, channel: userChannel(1)}); err != nil {
		t.Fatal(err)
	}
	if c, l := hub.channels(); c != 2 || l != 6 {
		t.Fatalf("hub: %d channels, %d listeners", c, l)
	}
	for _, ch := range []string{userChannel(1), publicChannel(1, "")} {
		n, err := client.PubSubNumSub(ctx, prefix+ch).Result()
		if err != nil || n[prefix+ch] != 1 {
			t.Fatalf("Redis subscribers of %s: %v %v, want 1", ch, n, err)
		}
	}
	for i := range 10 {
		publish(t, client, prefix, fmt.Sprintf(`{"e":"update","id":%d,"u":[1]}`, 1000+i))
	}
	for _, r := range fast {
		waitFor(t, "every event to every fast connection", func() bool { return r.len() == 10 })
	}
	select {
	case <-slow.closed:
		if !strings.HasPrefix(slow.why, "too slow") {
			t.Fatalf("slow connection closed because %q", slow.why)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow connection was not closed")
	}
	slow.end()
	for _, r := range fast {
		hub.unsubscribe(r)
	}
	if c, l := hub.channels(); c != 0 || l != 0 {
		t.Fatalf("hub after everyone left: %d channels, %d listeners", c, l)
	}
	waitFor(t, "Redis unsubscribed", func() bool {
		n, err := client.PubSubNumSub(ctx, prefix+userChannel(1)).Result()
		return err == nil && n[prefix+userChannel(1)] == 0
	})
}

// The stream names of frames and their channels, as Mastodon names them.
func TestStreamResolve(t *testing.T) {
	h := &Handler{}
	v := &viewer{site: sites["b.test"], tok: tokens["carol"], userID: 21}
	for _, c := range []struct{ name, tag, frame, channel string }{
		{"user", "", "[user]", "stream:user:21"},
		{"user:notification", "", "[user:notification]", "stream:user:notification:21"},
		{"direct", "", "[direct]", "stream:direct:21"},
		{"public", "", "[public]", "stream:public:2"},
		{"public:local", "", "[public:local]", "stream:public:local:2"},
		{"public:remote:media", "", "[public:remote:media]", "stream:public:remote:2"},
		{"hashtag", "#Cats", "[hashtag #Cats]", "stream:hashtag:2:cats"}, // named as the client spelled it
		{"hashtag:local", "cats", "[hashtag:local cats]", "stream:hashtag:local:2:cats"},
	} {
		st, err := h.resolve(context.Background(), v, c.name, c.tag, "")
		if err != nil || fmt.Sprint(st.name) != c.frame || st.channel != c.channel {
			t.Errorf("%s: %+v %v", c.name, st, err)
		}
	}
	// What the publisher sends where.
	e := dbEvent{Event: "notification", ID: 1, Users: []int64{5}, Direct: []int64{6}, Local: []int64{1}, Remote: []int64{2}, Hashtag: []string{"x"}}
	want := "[stream:user:5 stream:user:notification:5 stream:direct:6 stream:public:1 stream:public:local:1 " +
		"stream:hashtag:1:x stream:hashtag:local:1:x stream:public:2 stream:public:remote:2 stream:hashtag:2:x]"
	if got := fmt.Sprint(e.channels()); got != want {
		t.Fatalf("channels %s\nwant %s", got, want)
	}
}

// Statuses are rendered in their stream's filter context (home on the
// user stream, public on public and hashtag streams): what a filter hides
// is not sent, a warning is. filters_changed reaches the user stream only,
// with no payload.
func TestStreamingFilters(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{})
	aliceSSE, _ := openSSE(t, n, "a.test", "/api/v1/streaming/user", "alice")
	aliceNotes, _ := openSSE(t, n, "a.test", "/api/v1/streaming/user/notification", "alice")
	bobWS, _, err := dialWS(t, n, "a.test", "?stream=user&access_token=bob", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	bobFrames := wsFrames(bobWS)
	waitFor(t, "subscribed", func() bool { return confirmed(n.hub) == 3 })
	subscribeWS(t, bobWS, n, map[string]string{"type": "subscribe", "stream": "public:local"})

	// 777: hidden at home, shown on the public stream.
	publish(t, client, prefix, `{"e":"update","id":777,"u":[11,12],"pl":[1]}`)
	publish(t, client, prefix, `{"e":"update","id":100,"u":[11]}`)
	if e := next(t, aliceSSE, "alice's home"); !strings.Contains(e.data, `"id":"100"`) {
		t.Fatalf("alice's home stream: %+v, want 100 (777 is filtered)", e)
	}
	f := next(t, bobFrames, "bob's public:local")
	if fmt.Sprint(f["stream"]) != "[public:local]" || !strings.Contains(fmt.Sprint(f["payload"]), `"id":"777"`) {
		t.Fatalf("bob's frame: %v, want 777 on public:local only", f)
	}
	// 778: a warning on the public stream, the payload's filtered field.
	publish(t, client, prefix, `{"e":"update","id":778,"pl":[1]}`)
	if f := next(t, bobFrames, "bob's warned status"); !strings.Contains(fmt.Sprint(f["payload"]), `"filtered":[{`) {
		t.Fatalf("bob's frame: %v, want filtered", f)
	}

	publish(t, client, prefix, `{"e":"filters_changed","id":12,"u":[12]}`)
	f = next(t, bobFrames, "bob's filters_changed")
	if _, has := f["payload"]; fmt.Sprint(f["stream"]) != "[user]" || f["event"] != "filters_changed" || has {
		t.Fatalf("bob's frame: %v, want filters_changed on user without payload", f)
	}
	none(t, bobFrames, "bob's frames after filters_changed")
	publish(t, client, prefix, `{"e":"filters_changed","id":11,"u":[11]}`)
	if e := next(t, aliceSSE, "alice's filters_changed"); e.name != "filters_changed" || e.data != "" {
		t.Fatalf("alice's event: %+v", e)
	}
	none(t, aliceNotes, "alice's user:notification stream")
}

// Issue 17 item 3: Mastodon.py's SSE reader (and any strict one) hands
// over an event at every blank line and refuses one with no event name
// or data, so Roost frames the stream as Mastodon's streaming server
// does: ":)\n" on open and ":thump\n" heartbeats, comments never
// followed by a blank line; each event is "event: …\ndata: …\n\n".
func TestIssue17StreamingFramingAsMastodon(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{Heartbeat: 50 * time.Millisecond})
	req, _ := http.NewRequest("GET", "http://"+n.addr+"/api/v1/streaming/user", nil)
	req.Host = "a.test"
	req.Header.Set("Authorization", "Bearer alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n')
	if err != nil || first != ":)\n" {
		t.Fatalf("stream opens with %q (%v), want %q", first, err, ":)\n")
	}
	waitFor(t, "subscribed", func() bool { return confirmed(n.hub) == 1 })
	publish(t, client, prefix, `{"e":"update","id":100,"u":[11]}`)
	// Read as Mastodon.py does until the update arrives: every block
	// that a blank line ends must hold an event name and data.
	var block []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		switch {
		case line == ":thump\n": // a heartbeat: no blank line after it
		case line == "\n":
			if len(block) != 2 || !strings.HasPrefix(block[0], "event: ") || !strings.HasPrefix(block[1], "data: ") {
				t.Fatalf("a blank line dispatches %q: a strict client raises on it", block)
			}
			if block[0] == "event: update\n" {
				return
			}
			block = nil
		case strings.HasPrefix(line, ":"):
			t.Fatalf("unexpected comment %q", line)
		default:
			block = append(block, line)
		}
	}
}

// Issue 17 item 3, the WebSocket side, checked against Mastodon's
// streaming server: frames are {"stream":[name(, tag as the client spelled
// it)],"event":…,"payload":"<JSON as a string>"} (a bare id for delete);
// subscribe accepts the stream as an array and the list as a number;
// spellings of one tag are one subscription; unknown or unreadable
// messages are ignored, not answered; a binary message closes the socket
// with 1003; the subprotocol token is echoed; the server pings; the user
// stream carries notifications only for a token that may read them.
func TestIssue17WebSocketAsMastodon(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{Heartbeat: 50 * time.Millisecond})

	c, resp, err := dialWS(t, n, "a.test", "?stream=hashtag&tag=Cats", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "alice" {
		t.Fatalf("Sec-WebSocket-Protocol = %q, want the token echoed", got)
	}
	var pings atomic.Int32
	c.SetPingHandler(func(string) error {
		pings.Add(1)
		return c.WriteControl(websocket.PongMessage, nil, time.Now().Add(time.Second))
	})
	frames := wsFrames(c)
	waitFor(t, "subscribed", func() bool { return confirmed(n.hub) == 1 })
	subscribeWS(t, c, n, map[string]string{"type": "subscribe", "stream": "public:allow_local_only"})
	for _, m := range []string{`{"type":"subscribe","stream":["hashtag"],"tag":"cats"}`, `{"type":"dance"}`, `not json`,
		`{"type":"subscribe","stream":"hashtag:local","tag":["Cats"]}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "hashtag:local subscribed", func() bool { return confirmed(n.hub) == 3 })
	none(t, frames, "answers to a duplicate, an unknown and an unreadable message")

	publish(t, client, prefix, `{"e":"update","id":301,"pl":[1],"tags":["cats"]}`)
	got := map[string]bool{}
	for range 3 {
		f := next(t, frames, "update")
		var status map[string]any
		p, _ := f["payload"].(string)
		if f["event"] != "update" || json.Unmarshal([]byte(p), &status) != nil || status["id"] != "301" {
			t.Fatalf("frame %v: want an update whose payload is the status as a JSON string", f)
		}
		got[fmt.Sprint(f["stream"])] = true
	}
	if !got["[hashtag Cats]"] || !got["[hashtag:local Cats]"] || !got["[public:allow_local_only]"] {
		t.Fatalf("streams %v: want the tag as the client spelled it, once per subscription", got)
	}
	none(t, frames, "a second frame for one tag spelled twice")
	publish(t, client, prefix, `{"e":"delete","id":301,"pl":[1],"tags":["cats"]}`)
	if f := next(t, frames, "delete"); f["event"] != "delete" || f["payload"] != "301" {
		t.Fatalf("delete frame %v: want the bare id as payload", f)
	}
	waitFor(t, "a ping", func() bool { return pings.Load() > 0 })

	// bob's token reads statuses, not notifications: his user stream
	// carries updates only. A list id sent as a number is read.
	b, _, err := dialWS(t, n, "a.test", "?stream=user&access_token=bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	var bErr error // why bob's reader stopped; read once bFrames is closed
	bFrames := make(chan map[string]any, 64)
	go func() {
		defer close(bFrames)
		for {
			var m map[string]any
			if bErr = b.ReadJSON(&m); bErr != nil {
				return
			}
			bFrames <- m
		}
	}()
	waitFor(t, "bob subscribed", func() bool { return confirmed(n.hub) == 4 })
	if err := b.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","stream":"list","list":12}`)); err != nil {
		t.Fatal(err)
	}
	if f := next(t, bFrames, "list refusal"); f["error"] == nil {
		t.Fatalf("list 12: %v, want an error frame", f)
	}
	publish(t, client, prefix, `{"e":"notification","id":5,"u":[12]}`)
	publish(t, client, prefix, `{"e":"update","id":302,"u":[12]}`)
	if f := next(t, bFrames, "bob's update"); f["event"] != "update" {
		t.Fatalf("bob's first frame %v: want the update, no notification", f)
	}

	// A binary message closes the socket with 1003, as Mastodon does.
	if err := b.WriteMessage(websocket.BinaryMessage, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for range bFrames {
	}
	if !websocket.IsCloseError(bErr, websocket.CloseUnsupportedData) {
		t.Fatalf("after a binary message: %v, want close 1003", bErr)
	}
}

// fakeLists: alice (11) owns list 5, whose timeline holds status 401
// only, and list 6, the ranked "For you"; no one else owns a list.
type fakeLists struct{}

func (fakeLists) Timeline(_ context.Context, ownerID, listID int64, p federation.Page) ([]int64, bool, error) {
	if ownerID != 11 || listID != 5 && listID != 6 {
		return nil, false, errs.E(errs.NotFound, "Record not found")
	}
	if listID == 6 {
		return nil, true, nil
	}
	if p.MaxID == 0 || p.MaxID > 401 && p.SinceID < 401 {
		return []int64{401}, false, nil
	}
	return nil, false, nil
}

// Issue 17: list streams (Phanpy and Elk subscribe to them over the one
// socket they share with the user stream; masto.js ends every
// subscription of a socket on an error frame, so a refused list stream
// silenced the home stream too). A list stream carries the statuses of
// its timeline as they reach the owner's home feed, and deletions; not
// notifications; only the owner may open it.
func TestIssue17ListStreams(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{Lists: fakeLists{}})
	c, _, err := dialWS(t, n, "a.test", "?stream=user&access_token=alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := wsFrames(c)
	waitFor(t, "subscribed", func() bool { return confirmed(n.hub) == 1 })
	for _, m := range []string{`{"type":"subscribe","stream":"list","list":"5"}`, `{"type":"subscribe","stream":"list","list":6}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	none(t, frames, "answers to subscribing to alice's lists")
	publish(t, client, prefix, `{"e":"update","id":402,"u":[11]}`)
	publish(t, client, prefix, `{"e":"update","id":401,"u":[11]}`)
	publish(t, client, prefix, `{"e":"notification","id":9,"u":[11]}`)
	publish(t, client, prefix, `{"e":"delete","id":401,"u":[11]}`)
	var got []string
	for range 7 { // 402, 401 twice, the notification, the deletion on user and on lists 5 and 6
		f := next(t, frames, "frames")
		p, _ := f["payload"].(string)
		got = append(got, fmt.Sprintf("%v %v %v", f["stream"], f["event"], strings.Contains(p, `"id":"401"`) || p == "401"))
	}
	want := "[[user] update false [user] update true [list 5] update true [user] notification false " +
		"[user] delete true [list 5] delete true [list 6] delete true]"
	if fmt.Sprint(got) != want {
		t.Fatalf("frames %v\nwant   %v", got, want)
	}
	none(t, frames, "more frames")
	// A list not one's own is refused, and the socket stays open.
	d, _, err := dialWS(t, n, "a.test", "?stream=list&list=5&access_token=dave", nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := next(t, wsFrames(d), "dave's refusal"); f["error"] == nil || f["status"] != float64(404) {
		t.Fatalf("dave streaming alice's list: %v, want a 404 error frame", f)
	}
}
