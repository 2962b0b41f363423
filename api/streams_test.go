package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/streaming"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// streamNode is a world's app with the streaming API on a loopback port,
// trusting 127.0.0.1 as its proxy so each test connection can come from
// the client address its X-Forwarded-For names.
type streamNode struct {
	w       *world
	base    string
	reg     *prometheus.Registry
	svc     *oauth.Service
	clients *http.Client
}

func newStreamNode(t *testing.T, lim api.StreamLimits, maxInflight int, routes ...func(*fiber.App)) *streamNode {
	t.Helper()
	w := newWorld(t)
	n := &streamNode{w: w, reg: prometheus.NewRegistry(), svc: &oauth.Service{Store: tenantpg.NewOAuthStore(w.db)}}
	client, prefix := testenv.Redis(t)
	hub := streaming.NewHub(client, prefix, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { hub.Run(ctx); close(done) }()
	o := w.opts
	o.Metrics, o.Gatherer, o.TrustedProxies, o.Streams, o.MaxInflight = n.reg, n.reg, []string{"127.0.0.1"}, lim, maxInflight
	render := &mastodon.Handler{Auth: n.svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: &outbox.Service{}, Sites: o.Sites, URL: o.URL}
	o.Mastodon = render
	o.Streaming = &streaming.Handler{Auth: n.svc, Render: render, Hub: hub}
	w.app = api.New(o)
	for _, r := range routes {
		r(w.app)
	}
	n.base = w.listen(t)
	tr := &http.Transport{}
	n.clients = &http.Client{Transport: tr, Timeout: time.Minute}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		cancel()
		<-done
	})
	return n
}

// token issues a new access token of alice on tenant A (its own app).
func (n *streamNode) token(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	app, secret, err := n.svc.RegisterApp(ctx, n.w.tenantA.ID, "streams", "", oauth.OOB, "read")
	if err != nil {
		t.Fatal(err)
	}
	code, err := n.svc.Authorize(ctx, app, n.w.aliceA.ID, oauth.OOB, "read", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.svc.Exchange(ctx, n.w.tenantA.ID, oauth.TokenRequest{GrantType: "authorization_code",
		ClientID: app.ClientID, ClientSecret: secret, Code: code, RedirectURI: oauth.OOB})
	if err != nil {
		t.Fatal(err)
	}
	return g.AccessToken
}

// stream is one server-sent events request's answer: open (200, its
// first comment read) or refused.
type stream struct {
	status     int
	retryAfter string
	body       string
	header     http.Header
	close      func()
}

// sse opens path (with "?access_token=" when token is given so, or an
// Authorization header) as a client at xff.
func (n *streamNode) sse(t *testing.T, path, token, xff string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", n.base+path, nil)
	req.Host = "a.example"
	if token != "" && !strings.Contains(path, "access_token=") {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := n.clients.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), header: resp.Header}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.body = string(b)
		return s
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != ":)\n" {
		t.Fatalf("%s: stream opened with %q, %v", path, line, err)
	}
	var once sync.Once
	s.close = func() { once.Do(func() { resp.Body.Close() }) }
	t.Cleanup(s.close)
	return s
}

// ws opens the WebSocket endpoint as a client at xff; the status is the
// handshake's (101 when open).
func (n *streamNode) ws(t *testing.T, query, xff string, protocols ...string) *stream {
	t.Helper()
	h := http.Header{"Host": {"a.example"}, "X-Forwarded-For": {xff}}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, Subprotocols: protocols}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(n.base, "http")+"/api/v1/streaming"+query, h)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		return &stream{status: 101, close: func() { c.Close() }}
	}
	if resp == nil {
		t.Fatalf("websocket %s: %v", query, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return &stream{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}
}

// metric reads a gauge or a labelled counter from the node's registry.
func (n *streamNode) metric(t *testing.T, name, label string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() != name || (label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label)) {
				continue
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// waitOpen waits until the node counts want open streaming connections
// (a closed one is noticed when the server reads the end of it).
func (n *streamNode) waitOpen(t *testing.T, want float64) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n.metric(t, "roost_streaming_connections", "") == want {
			return
		}
	}
	t.Fatalf("roost_streaming_connections is %v, want %v", n.metric(t, "roost_streaming_connections", ""), want)
}

// refused asserts a clear refusal: status, Retry-After, JSON error body.
func refused(t *testing.T, what string, s *stream, status int, says string) {
	t.Helper()
	var body struct{ Error string }
	if s.status != status || s.retryAfter == "" || json.Unmarshal([]byte(s.body), &body) != nil ||
		!strings.Contains(body.Error, says) {
		t.Fatalf("%s: %d Retry-After %q %s; want %d with Retry-After and an error saying %q", what, s.status,
			s.retryAfter, s.body, status, says)
	}
}

// Finding 11: streaming connections are capped per client address (as
// the app computes it behind trusted proxies, an IPv6 /64 as one) and
// per access token, over server-sent events and WebSockets alike and
// whichever way the token comes; past a cap a clear 429 with Retry-After;
// a closed connection frees its place; the count is a metric.
func TestIssue14Finding11StreamingCapsPerIPAndToken(t *testing.T) {
	t.Parallel()
	n := newStreamNode(t, api.StreamLimits{PerIP: 3, PerToken: 2}, 0)
	tok := n.token(t)
	const user, public = "/api/v1/streaming/user", "/api/v1/streaming/public"

	// Per token: two from two addresses, the third refused, in every form
	// a token may take (header, access_token, WebSocket subprotocol).
	first := n.sse(t, user, tok, "203.0.113.7")
	n.sse(t, user, tok, "203.0.113.8")
	if first.status != 200 {
		t.Fatalf("first stream: %d %s", first.status, first.body)
	}
	refused(t, "third connection of a token", n.sse(t, user, tok, "203.0.113.9"), 429, "access token")
	refused(t, "third connection, token as access_token", n.sse(t, user+"?access_token="+tok, tok, "203.0.113.9"), 429, "access token")
	refused(t, "third connection, token as WebSocket subprotocol", n.ws(t, "?stream=user", "203.0.113.9", tok), 429, "access token")

	// Per address: 203.0.113.7 has one; two anonymous more fill it.
	n.sse(t, public, "", "203.0.113.7")
	n.sse(t, public, "", "203.0.113.7")
	refused(t, "fourth connection of an address", n.sse(t, public, "", "203.0.113.7"), 429, "address")
	// A client cannot pass as another by writing X-Forwarded-For itself:
	// the proxy's entry (the rightmost) is the address.
	refused(t, "spoofed first X-Forwarded-For entry", n.sse(t, public, "", "198.51.100.1, 203.0.113.7"), 429, "address")
	refused(t, "WebSocket from a full address", n.ws(t, "?stream=public", "203.0.113.7"), 429, "address")
	// Other addresses still connect, over both transports.
	if s := n.ws(t, "?stream=public", "203.0.113.10"); s.status != 101 {
		t.Fatalf("WebSocket from another address: %d %s", s.status, s.body)
	}
	// An IPv6 /64 is one client.
	for i := 1; i <= 3; i++ {
		if s := n.sse(t, public, "", fmt.Sprintf("2001:db8:1:2::%d", i)); s.status != 200 {
			t.Fatalf("IPv6 connection %d: %d %s", i, s.status, s.body)
		}
	}
	refused(t, "fourth connection of an IPv6 /64", n.sse(t, public, "", "2001:db8:1:2:ffff::1"), 429, "address")

	// The metrics count what is open and what was refused.
	n.waitOpen(t, 2+2+1+3)
	if ip, token := n.metric(t, "roost_streaming_refused_total", "ip"), n.metric(t, "roost_streaming_refused_total", "token"); ip != 4 || token != 3 {
		t.Fatalf("refused: ip %v token %v, want 4 and 3", ip, token)
	}

	// A connection that ends frees its places: the token's and the
	// address's.
	first.close()
	n.waitOpen(t, 7)
	if s := n.sse(t, user, tok, "203.0.113.9"); s.status != 200 {
		t.Fatalf("token after one of its connections closed: %d %s", s.status, s.body)
	}
	if s := n.sse(t, public, "", "203.0.113.7"); s.status != 200 {
		t.Fatalf("address after one of its connections closed: %d %s", s.status, s.body)
	}
	n.waitOpen(t, 9)
}

// Finding 11: open streaming connections count against the node's own
// bound (503 with Retry-After past it, as a shed request), and a
// streaming handshake is a request of the in-flight budget like any
// other: a node shedding requests sheds it too.
func TestIssue14Finding11StreamingInTheNodeBudget(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var entered sync.WaitGroup
	n := newStreamNode(t, api.StreamLimits{Node: 2}, 4, func(app *fiber.App) {
		app.Get("/slow", func(c *fiber.Ctx) error {
			entered.Done()
			<-release
			return c.SendString("done")
		})
	})
	n.sse(t, "/api/v1/streaming/public", "", "203.0.113.1")
	n.sse(t, "/api/v1/streaming/public/local", "", "203.0.113.2")
	refused(t, "a connection past the node's bound", n.sse(t, "/api/v1/streaming/public", "", "203.0.113.3"), 503, "busy")
	refused(t, "a WebSocket past the node's bound", n.ws(t, "?stream=public", "203.0.113.3"), 503, "busy")
	if v := n.metric(t, "roost_streaming_refused_total", "node"); v != 2 {
		t.Fatalf("refused by the node bound: %v, want 2", v)
	}
	n.waitOpen(t, 2)

	// Three slow anonymous requests fill the anonymous share of
	// MaxInflight (3 of 4): an anonymous streaming handshake is shed.
	entered.Add(3)
	results := make(chan int, 3)
	for range 3 {
		go func() {
			req, _ := http.NewRequest("GET", n.base+"/slow", nil)
			req.Host = "a.example"
			resp, err := n.clients.Do(req)
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	entered.Wait()
	refused(t, "a streaming handshake on a node shedding requests", n.sse(t, "/api/v1/streaming/public", "", "203.0.113.4"), 503, "busy")
	close(release)
	for range 3 {
		if code := <-results; code != 200 {
			t.Fatalf("slow request: %d", code)
		}
	}
}

// Finding 12: a server-sent events stream is written by hand (the
// connection is hijacked before the header policy runs); it carries
// nosniff too, and its refusals carry the whole policy.
func TestIssue14Finding12StreamingNosniff(t *testing.T) {
	t.Parallel()
	n := newStreamNode(t, api.StreamLimits{PerIP: 1}, 0)
	open := n.sse(t, "/api/v1/streaming/public", "", "203.0.113.1")
	no := n.sse(t, "/api/v1/streaming/public", "", "203.0.113.1")
	for _, s := range []*stream{open, no} {
		if s.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%d stream answer without nosniff: %v", s.status, s.header)
		}
	}
	if !strings.Contains(no.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("refusal without a sandboxing CSP: %v", no.header)
	}
}
