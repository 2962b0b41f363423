package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// The streaming API, driven by go-mastodon's WebSocket and server-sent
// event clients against real processes: two web nodes and a worker of one
// instance. Events are produced through node 1 and heard on both nodes,
// so they cross nodes through PostgreSQL, the elected relay and Redis.

// eventLog records what a go-mastodon stream delivers.
type eventLog struct {
	mu     sync.Mutex
	events []mastodon.Event
	errs   []string
}

func record(ch chan mastodon.Event) *eventLog {
	l := &eventLog{}
	go func() {
		for e := range ch {
			l.mu.Lock()
			if ee, ok := e.(*mastodon.ErrorEvent); ok {
				l.errs = append(l.errs, ee.Error())
			} else {
				l.events = append(l.events, e)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// has reports whether some event satisfies match.
func (l *eventLog) has(match func(mastodon.Event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.events, match)
}

// count counts the events that satisfy match.
func (l *eventLog) count(match func(mastodon.Event) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if match(e) {
			n++
		}
	}
	return n
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		switch e := e.(type) {
		case *mastodon.UpdateEvent:
			fmt.Fprintf(&b, "update %s; ", e.Status.ID)
		case *mastodon.UpdateEditEvent:
			fmt.Fprintf(&b, "status.update %s; ", e.Status.ID)
		case *mastodon.NotificationEvent:
			fmt.Fprintf(&b, "notification %s %s; ", e.Notification.Type, e.Notification.ID)
		case *mastodon.DeleteEvent:
			fmt.Fprintf(&b, "delete %s; ", e.ID)
		default:
			fmt.Fprintf(&b, "%T; ", e)
		}
	}
	return b.String() + fmt.Sprintf("errors: %q", l.errs)
}

func isUpdate(id mastodon.ID) func(mastodon.Event) bool {
	return func(e mastodon.Event) bool {
		u, ok := e.(*mastodon.UpdateEvent)
		return ok && u.Status.ID == id
	}
}

func anyUpdate(e mastodon.Event) bool { _, ok := e.(*mastodon.UpdateEvent); return ok }

// waitEvent waits for an event (a liveness bound, not a timing check).
func waitEvent(t *testing.T, name string, l *eventLog, match func(mastodon.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !l.has(match) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never received; stream had: %s", name, l)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamingClient is c's account on the node at addr, with no overall
// timeout (a stream is one long response).
func streamingClient(c *mastodon.Client, addr string) *mastodon.Client {
	sc := mastodon.NewClient(&mastodon.Config{Server: c.Config.Server, AccessToken: c.Config.AccessToken})
	sc.Client = hostClient(addr)
	sc.Client.Timeout = 0
	return sc
}

// wsClient is c's WebSocket client dialling the node at addr.
func wsClient(c *mastodon.Client, addr string) *mastodon.WSClient {
	ws := c.NewWSClient()
	ws.NetDialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	}
	return ws
}

func TestStreamingWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, addr := apiNode(t)
	// A second web node of the same instance (database and Redis prefix).
	addr2 := freeAddr(t)
	n2 := &node{env: append(slices.Clone(n.env), "ROOST_HTTP_ADDR="+addr2), db: n.db}
	n2.start(t, "serve")
	waitHTTP(t, "http://"+addr2+"/users/alice", "a.test", 200)

	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}

	// The streaming endpoints answer on every node; tokens stay on their
	// tenant.
	for _, a := range []string{addr, addr2} {
		code, body := rawGet(t, a, "a.test", "/api/v1/streaming/health", "")
		if code != 200 || body != "OK" {
			t.Fatalf("health on %s: %d %q", a, code, body)
		}
	}
	if code, _ := rawGet(t, addr2, "b.test", "/api/v1/streaming/user", bob.Config.AccessToken); code != 401 {
		t.Fatalf("bob's token (a.test) on b.test's user stream: %d, want 401", code)
	}

	// bob listens over WebSocket on node 1 and over server-sent events on
	// node 2; carol listens to b.test's local public stream on node 1.
	open := func(ch chan mastodon.Event, err error) *eventLog {
		t.Helper()
		if err != nil {
			t.Fatalf("open stream: %v", err)
		}
		return record(ch)
	}
	bobWS := open(wsClient(bob, addr).StreamingWSUser(ctx))
	bobSSE := open(streamingClient(bob, addr2).StreamingUser(ctx))
	carolLocal := open(wsClient(carol, addr).StreamingWSPublic(ctx, true))

	// Streams connect in the background: post until each has heard one.
	var aliceIDs []mastodon.ID
	post := func(c *mastodon.Client, toot *mastodon.Toot) *mastodon.Status {
		t.Helper()
		s, err := c.PostStatus(ctx, toot)
		if err != nil {
			t.Fatal(err)
		}
		if c == alice {
			aliceIDs = append(aliceIDs, s.ID)
		}
		return s
	}
	warmUp := func(who string, c *mastodon.Client, logs ...*eventLog) {
		t.Helper()
		for i := 0; ; i++ {
			post(c, &mastodon.Toot{Status: fmt.Sprintf("warming up %d", i), Visibility: "public"})
			time.Sleep(300 * time.Millisecond)
			heard := true
			for _, l := range logs {
				heard = heard && l.has(anyUpdate)
			}
			if heard {
				return
			}
			if i == 100 {
				for _, l := range logs {
					t.Logf("%s's stream: %s", who, l)
				}
				t.Fatalf("%s's streams never connected", who)
			}
		}
	}
	warmUp("bob", alice, bobWS, bobSSE)
	warmUp("carol", carol, carolLocal)

	// alice posts: bob hears the status on both nodes.
	hello := post(alice, &mastodon.Toot{Status: "Hello streaming #roost", Visibility: "public"})
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "update of alice's post", l, func(e mastodon.Event) bool {
			u, ok := e.(*mastodon.UpdateEvent)
			return ok && u.Status.ID == hello.ID && strings.Contains(u.Status.Content, "Hello streaming") &&
				u.Status.Account.Acct == "alice"
		})
	}

	// bob is mentioned: a notification.
	mention := post(alice, &mastodon.Toot{Status: "@bob are you there?", Visibility: "public"})
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "mention notification", l, func(e mastodon.Event) bool {
			n, ok := e.(*mastodon.NotificationEvent)
			return ok && n.Notification.Type == "mention" && n.Notification.Status != nil &&
				n.Notification.Status.ID == mention.ID && n.Notification.Account.Acct == "alice"
		})
	}

	// alice edits, then deletes: status.update, then delete.
	if _, err := alice.UpdateStatus(ctx, &mastodon.Toot{Status: "Hello streaming #roost (edited)"}, hello.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "status.update", l, func(e mastodon.Event) bool {
			u, ok := e.(*mastodon.UpdateEditEvent)
			return ok && u.Status.ID == hello.ID && strings.Contains(u.Status.Content, "edited")
		})
	}
	if err := alice.DeleteStatus(ctx, hello.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "delete", l, func(e mastodon.Event) bool {
			d, ok := e.(*mastodon.DeleteEvent)
			return ok && d.ID == hello.ID
		})
	}

	// carol's local public stream (b.test) heard none of a.test's posts:
	// her own last post, published after all of them, arrives; theirs
	// never did.
	last := post(carol, &mastodon.Toot{Status: "b.test only", Visibility: "public"})
	waitEvent(t, "carol's own post", carolLocal, isUpdate(last.ID))
	for _, id := range aliceIDs {
		if carolLocal.has(isUpdate(id)) {
			t.Fatalf("carol's public:local stream on b.test carried a.test's status %s: %s", id, carolLocal)
		}
	}
	if bobWS.has(isUpdate(last.ID)) || bobSSE.has(isUpdate(last.ID)) {
		t.Fatalf("bob's home stream carried carol's post")
	}
}

// rawGet is one GET with host and an optional bearer token.
func rawGet(t *testing.T, addr, host, path, token string) (int, string) {
	t.Helper()
	hc := hostClient(addr)
	req, _ := http.NewRequest("GET", "http://"+host+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
