package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
)

// fakeHome is the database's reading of pulled authors: status N is
// author N/100's (5001 is author 50's); a viewer's home timeline holds a
// status of an author the viewer follows unless the status is hidden
// (a boost from an author whose boosts the viewer turned off, a muted
// conversation: what the real query leaves out).
type fakeHome struct {
	mu      sync.Mutex
	follows map[int64]map[int64]bool // viewer → pulled authors followed
	hidden  map[int64]bool
	listed  int   // PulledFollowees calls
	err     error // every read fails with it
}

func newFakeHome(follows map[int64][]int64, hidden ...int64) *fakeHome {
	f := &fakeHome{follows: map[int64]map[int64]bool{}, hidden: map[int64]bool{}}
	for v, as := range follows {
		for _, a := range as {
			f.follow(v, a, true)
		}
	}
	for _, id := range hidden {
		f.hidden[id] = true
	}
	return f
}

func (f *fakeHome) follow(viewer, author int64, on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.follows[viewer] == nil {
		f.follows[viewer] = map[int64]bool{}
	}
	f.follows[viewer][author] = on
}

func (f *fakeHome) listings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.listed
}

func (f *fakeHome) PulledFollowees(_ context.Context, viewer int64) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed++
	if f.err != nil {
		return nil, f.err
	}
	var ids []int64
	for a, on := range f.follows[viewer] {
		if on {
			ids = append(ids, a)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (f *fakeHome) HomeTimeline(_ context.Context, viewer int64, p federation.Page) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if p.Limit != 1 || p.MaxID != p.SinceID+2 || p.MinID != 0 {
		return nil, fmt.Errorf("fakeHome: a page that is not one status's: %+v", p) // drops the connection: the test fails
	}
	id := p.MaxID - 1
	if f.follows[viewer][id/100] && !f.hidden[id] {
		return []int64{id}, nil
	}
	return nil, nil
}

// wsText and sseText describe a frame as "[stream] event id".
func wsText(f map[string]any) string {
	p, _ := f["payload"].(string)
	return fmt.Sprintf("%v %v %s", f["stream"], f["event"], payloadID(p))
}

func sseText(e sseEvent) string { return e.name + " " + payloadID(e.data) }

// payloadID is a status payload's id, or a delete's bare id.
func payloadID(p string) string {
	var s struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(p), &s) == nil && s.ID != "" {
		return s.ID
	}
	return p
}

// listening counts the subscriptions the node's hub holds on ch (all
// connections') and tells whether Redis confirmed it.
func listening(h *Hub, ch string) (n int, confirmed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.subs[h.prefix+ch] {
		n += c
	}
	return n, h.confirmed[h.prefix+ch]
}

func waitListening(t *testing.T, h *Hub, ch string, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d subscriptions on %s", want, ch), func() bool {
		n, ok := listening(h, ch)
		return n == want && (ok || want == 0)
	})
}

// Issue 21: a status of a pulled author (no feed row announces it) is
// published once on the author's channel ("a"); a follower's user
// stream, over WebSocket and server-sent events, is sent it once, even
// when the follower also hears it on the user channel (mentioned: a feed
// row), in either order; a status the follower's home timeline leaves
// out (hidden) is not sent; edits and deletions pass, each edit once; a
// non-follower hears nothing of the author. What is not sent is shown by
// a later event on the user channels arriving next.
func TestIssue21PulledAuthorReachesFollowersOnce(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	home := newFakeHome(map[int64][]int64{11: {50}}, 5003)
	n := startNode(t, client, prefix, &Handler{Home: home})

	aliceWS, _, err := dialWS(t, n, "a.test", "?stream=user", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice := wsFrames(aliceWS)
	aliceSSE, _ := openSSE(t, n, "a.test", "/api/v1/streaming/user", "alice")
	bobWS, _, err := dialWS(t, n, "a.test", "?stream=user", nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob := wsFrames(bobWS)
	waitListening(t, n.hub, authorChannel(50), 2) // alice's two connections; not bob's
	waitListening(t, n.hub, userChannel(12), 1)

	for _, p := range []string{
		`{"e":"update","id":5001,"a":[50]}`,
		`{"e":"update","id":5002,"u":[11],"a":[50]}`, // alice is mentioned: a feed row too
		`{"e":"update","id":5004,"u":[11]}`, `{"e": "update", "id": 5004, "a": [50]}`,
		`{"e":"update","id":5005,"a":[50]}`, `{"e":"update","id":5005,"u":[11]}`, // the mention's row filed later
		`{"e":"update","id":5003,"a":[50]}`, // not on alice's home timeline
		`{"e":"status.update","id":5001,"a":[50]}`,
		`{"e":"status.update","id":5002,"u":[11],"a":[50]}`, // an edit
		`{"e":"status.update","id":5002,"u":[11],"a":[50]}`, // another edit
		`{"e":"delete","id":5001,"a":[50]}`,
		`{"e":"delete","id":5002,"u":[11],"a":[50]}`,
		`{"e":"update","id":100,"u":[11,12]}`, // the sentinel
	} {
		publish(t, client, prefix, p)
	}
	want := []string{"update 5001", "update 5002", "update 5004", "update 5005", "status.update 5001",
		"status.update 5002", "status.update 5002", "delete 5001", "delete 5002", "update 100"}
	var gotWS, gotSSE []string
	for range want {
		gotWS = append(gotWS, strings.TrimPrefix(wsText(next(t, alice, "alice's frames")), "[user] "))
		gotSSE = append(gotSSE, sseText(next(t, aliceSSE, "alice's events")))
	}
	if fmt.Sprint(gotWS) != fmt.Sprint(want) || fmt.Sprint(gotSSE) != fmt.Sprint(want) {
		t.Fatalf("alice's frames\n%v\nevents\n%v\nwant\n%v", gotWS, gotSSE, want)
	}
	if got := wsText(next(t, bob, "bob's frames")); got != "[user] update 100" {
		t.Fatalf("bob (no follower) was sent %q first, want the sentinel", got)
	}
	if home.listings() != 3 {
		t.Fatalf("pulled followees listed %d times, want once per connection", home.listings())
	}
	// The connections' end drops their author subscriptions.
	aliceWS.Close()
	waitListening(t, n.hub, authorChannel(50), 1)
}

// Issue 21: following a pulled author mid-connection ("pull" on the
// follower's user channel) starts the follower's streams hearing the
// author; unfollowing ("unpull") stops them. Neither event reaches a
// client. The fake keeps answering that the viewer follows after the
// unpull: what stops the statuses is the unsubscription.
func TestIssue21PullAndUnpullMidConnection(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	home := newFakeHome(nil)
	n := startNode(t, client, prefix, &Handler{Home: home})
	c, _, err := dialWS(t, n, "a.test", "?stream=user", nil, "dave")
	if err != nil {
		t.Fatal(err)
	}
	ws := wsFrames(c)
	sse, _ := openSSE(t, n, "a.test", "/api/v1/streaming/user", "dave")
	waitListening(t, n.hub, userChannel(13), 2)
	both := func(what, want string) {
		t.Helper()
		if got := wsText(next(t, ws, what)); got != "[user] "+want {
			t.Fatalf("%s over WebSocket: %q, want %q", what, got, want)
		}
		if got := sseText(next(t, sse, what)); got != want {
			t.Fatalf("%s over SSE: %q, want %q", what, got, want)
		}
	}

	publish(t, client, prefix, `{"e":"update","id":5001,"a":[50]}`)
	publish(t, client, prefix, `{"e":"update","id":101,"u":[13]}`)
	both("before following", "update 101")

	home.follow(13, 50, true)
	publish(t, client, prefix, `{"e":"pull","id":50,"u":[13]}`)
	waitListening(t, n.hub, authorChannel(50), 2)
	publish(t, client, prefix, `{"e":"update","id":5006,"a":[50]}`)
	both("after the pull", "update 5006")

	publish(t, client, prefix, `{"e":"unpull","id":50,"u":[13]}`)
	waitListening(t, n.hub, authorChannel(50), 0)
	publish(t, client, prefix, `{"e":"update","id":5007,"a":[50]}`)
	publish(t, client, prefix, `{"e":"update","id":102,"u":[13]}`)
	both("after the unpull", "update 102")

	// Pulled again: heard again.
	publish(t, client, prefix, `{"e":"pull","id":50,"u":[13]}`)
	waitListening(t, n.hub, authorChannel(50), 2)
	publish(t, client, prefix, `{"e":"delete","id":5006,"a":[50]}`)
	both("after pulling again", "delete 5006")
	if home.listings() != 2 {
		t.Fatalf("pulled followees listed %d times, want once per connection", home.listings())
	}
}

// Issue 21: list streams hear the pulled authors their owner follows
// (their statuses as the list's timeline holds them); the author
// subscriptions stay while a user or list stream is on and go with the
// last one; the listing is made again when one is added after that.
func TestIssue21ListStreamsHearPulledAuthors(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	home := newFakeHome(map[int64][]int64{11: {50}})
	n := startNode(t, client, prefix, &Handler{Home: home, Lists: fakeLists{}})
	c, _, err := dialWS(t, n, "a.test", "?stream=list&list=5", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	frames := wsFrames(c)
	waitListening(t, n.hub, authorChannel(50), 1)

	publish(t, client, prefix, `{"e":"update","id":401,"a":[50]}`)  // on list 5 (fakeLists)
	publish(t, client, prefix, `{"e":"update","id":5001,"a":[50]}`) // on alice's home, not on the list
	publish(t, client, prefix, `{"e":"delete","id":999,"u":[11]}`)  // the sentinel
	for _, want := range []string{"[list 5] update 401", "[list 5] delete 999"} {
		if got := wsText(next(t, frames, "list frames")); got != want {
			t.Fatalf("list stream: %q, want %q", got, want)
		}
	}

	subscribeUser := func() {
		t.Helper()
		before, _ := listening(n.hub, userChannel(11))
		if err := c.WriteJSON(map[string]string{"type": "subscribe", "stream": "user"}); err != nil {
			t.Fatal(err)
		}
		waitListening(t, n.hub, userChannel(11), before+1)
	}
	subscribeUser()
	publish(t, client, prefix, `{"e":"update","id":5002,"u":[11],"a":[50]}`)
	publish(t, client, prefix, `{"e":"delete","id":5002,"a":[50]}`)
	for _, want := range []string{"[user] update 5002", "[list 5] delete 5002", "[user] delete 5002"} {
		if got := wsText(next(t, frames, "frames")); got != want {
			t.Fatalf("frames: %q, want %q", got, want)
		}
	}

	// Without the list the user stream still hears the author; without
	// both, nothing does.
	if err := c.WriteJSON(map[string]string{"type": "unsubscribe", "stream": "list", "list": "5"}); err != nil {
		t.Fatal(err)
	}
	waitListening(t, n.hub, userChannel(11), 1)
	if got, _ := listening(n.hub, authorChannel(50)); got != 1 {
		t.Fatalf("the author channel has %d subscriptions with the user stream on, want 1", got)
	}
	if err := c.WriteJSON(map[string]string{"type": "unsubscribe", "stream": "user"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every channel dropped", func() bool { ch, _ := n.hub.channels(); return ch == 0 })

	// A pull heard by no stream is lost: the next user stream lists again.
	home.follow(11, 60, true)
	subscribeUser()
	waitListening(t, n.hub, authorChannel(60), 1)
	if home.listings() != 2 {
		t.Fatalf("pulled followees listed %d times, want twice", home.listings())
	}
	publish(t, client, prefix, `{"e":"update","id":6001,"a":[60]}`)
	if got := wsText(next(t, frames, "the other author")); got != "[user] update 6001" {
		t.Fatalf("frame %q, want the second author's status", got)
	}
	c.Close()
	waitFor(t, "the connection's end dropped every channel", func() bool { ch, _ := n.hub.channels(); return ch == 0 })
}

// Without Home (Handler.Home nil) nothing changes: no author is heard,
// and pull events, like every internal event, reach no client.
func TestIssue21WithoutHome(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{})
	c, _, err := dialWS(t, n, "a.test", "?stream=user", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	frames := wsFrames(c)
	publish(t, client, prefix, `{"e":"pull","id":50,"u":[11]}`)
	publish(t, client, prefix, `{"e":"update","id":5001,"a":[50]}`)
	publish(t, client, prefix, `{"e":"unpull","id":50,"u":[11]}`)
	publish(t, client, prefix, `{"e":"update","id":100,"u":[11]}`)
	if got := wsText(next(t, frames, "frames")); got != "[user] update 100" {
		t.Fatalf("first frame %q, want the sentinel", got)
	}
	if ch, _ := n.hub.channels(); ch != 1 {
		t.Fatalf("the hub has %d channels, want the user channel only", ch)
	}
}

// What the publisher sends where: "a" adds the authors' channels; pull
// and unpull go to the user channels in "u".
func TestIssue21PublishAuthorChannels(t *testing.T) {
	for _, c := range []struct{ payload, want string }{
		{`{"e":"update","id":1,"a":[7]}`, "[stream:author:7]"},
		{`{"e":"status.update","id":1,"u":[5],"a":[7,8]}`, "[stream:user:5 stream:author:7 stream:author:8]"},
		{`{"e":"pull","id":7,"u":[5,6]}`, "[stream:user:5 stream:user:6]"},
		{`{"e":"unpull","id":7,"u":[5]}`, "[stream:user:5]"},
	} {
		var e dbEvent
		if err := json.Unmarshal([]byte(c.payload), &e); err != nil || !knownEvents[e.Event] {
			t.Fatalf("%s: %v, known %v", c.payload, err, knownEvents[e.Event])
		}
		if got := fmt.Sprint(e.channels()); got != c.want {
			t.Errorf("%s: %s, want %s", c.payload, got, c.want)
		}
	}
	if id, ok := authorOf(authorChannel(42)); !ok || id != 42 {
		t.Fatalf("authorOf: %d %v", id, ok)
	}
	if _, ok := authorOf(userChannel(42)); ok {
		t.Fatal("a user channel read as an author's")
	}
}

// A viewer following more pulled authors than a session may hear gets
// the first maxPulledAuthors; a pull past the bound is skipped; the
// session's end drops them all.
func TestIssue21PulledAuthorsBound(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub(client, prefix, nil)
	go hub.Run(ctx)
	var authors []int64
	for a := range int64(maxPulledAuthors + 1) {
		authors = append(authors, a+1)
	}
	h := &Handler{Hub: hub, Home: newFakeHome(map[int64][]int64{14: authors})}
	s := h.newSession(&viewer{site: sites["a.test"], userID: 14})
	if err := s.add(ctx, &stream{name: []string{"user"}, channel: userChannel(14), place: filter.Home}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := hub.channels(); ch != maxPulledAuthors+1 || len(s.heard) != maxPulledAuthors || s.heard[maxPulledAuthors+1] {
		t.Fatalf("hub: %d channels; session hears %d authors, the last %v", ch, len(s.heard), s.heard[maxPulledAuthors+1])
	}
	s.frames(ctx, event{channel: userChannel(14), message: message{Event: "pull", ID: 99999}})
	if len(s.heard) != maxPulledAuthors || s.heard[99999] {
		t.Fatalf("a pull past the bound: %d heard", len(s.heard))
	}
	s.frames(ctx, event{channel: userChannel(14), message: message{Event: "unpull", ID: 1}})
	s.frames(ctx, event{channel: userChannel(14), message: message{Event: "pull", ID: 99999}})
	if len(s.heard) != maxPulledAuthors || s.heard[1] || !s.heard[99999] {
		t.Fatalf("after an unpull, a pull: %d heard, 1 %v, 99999 %v", len(s.heard), s.heard[1], s.heard[99999])
	}
	s.end()
	if ch, l := hub.channels(); ch != 0 || l != 0 {
		t.Fatalf("hub after the session ended: %d channels, %d listeners", ch, l)
	}
}

// As a status that fails to render (soak finding 4): a listing of pulled
// followees or a home timeline check that fails (the database away)
// drops the connection, whose app reconnects and pages; the statuses
// would be missed for good otherwise.
func TestIssue21ReadFailuresDropConnection(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub(client, prefix, nil)
	go hub.Run(ctx)
	home := newFakeHome(map[int64][]int64{11: {50}})
	home.err = errors.New("failed to connect: timeout")
	h := &Handler{Hub: hub, Home: home, Render: fakeRender{}}
	site := &tenant.Site{TenantID: 1, Domain: "a.test"}
	user := func() *stream { return &stream{name: []string{"user"}, channel: userChannel(11), place: filter.Home} }

	s := h.newSession(&viewer{site: site, userID: 11})
	defer s.end()
	if err := s.add(ctx, user()); err != nil {
		t.Fatal(err)
	}
	if !isClosed(s.closed) || s.why != WhyRedisDown {
		t.Fatalf("a failed listing left the connection open (closed %v, why %q)", isClosed(s.closed), s.why)
	}

	home.mu.Lock()
	home.err = nil
	home.mu.Unlock()
	s2 := h.newSession(&viewer{site: site, userID: 11})
	defer s2.end()
	if err := s2.add(ctx, user()); err != nil || isClosed(s2.closed) {
		t.Fatalf("add: %v, closed %v", err, isClosed(s2.closed))
	}
	home.mu.Lock()
	home.err = errors.New("failed to connect: timeout")
	home.mu.Unlock()
	if out := s2.frames(ctx, event{channel: authorChannel(50), message: message{Event: "update", ID: 5001}}); len(out) != 0 {
		t.Fatalf("frames %v", out)
	}
	if !isClosed(s2.closed) || s2.why != WhyRedisDown {
		t.Fatalf("a failed home check left the connection open (closed %v, why %q)", isClosed(s2.closed), s2.why)
	}
}

// A stream's memory of what it sent is bounded; an update or delete is
// sent once, each edit once.
func TestIssue21SentMemory(t *testing.T) {
	m := newSentIDs()
	up := message{Event: "update", ID: 1}
	m.record(up, true)
	if !m.dup(up, false) || !m.dup(up, true) {
		t.Fatal("an update sent is sent again")
	}
	ed := message{Event: "status.update", ID: 1}
	m.record(ed, false) // edit 1, user channel
	if !m.dup(ed, true) {
		t.Fatal("edit 1's copy on the author channel is sent again")
	}
	if m.dup(ed, false) { // edit 2, user channel
		t.Fatal("edit 2 is taken for a copy")
	}
	m.record(ed, false)
	if !m.dup(ed, true) {
		t.Fatal("edit 2's copy on the author channel is sent again")
	}
	m.record(message{Event: "update", ID: 2}, false)
	if m.dup(message{Event: "update", ID: 2}, false) == false || m.dup(message{Event: "notification", ID: 2}, false) {
		t.Fatal("events are told apart by kind")
	}
	for i := range int64(sentMemory) {
		m.record(message{Event: "delete", ID: 100 + i}, true)
	}
	if len(m.by) != sentMemory || m.dup(up, false) || !m.dup(message{Event: "delete", ID: 100}, false) {
		t.Fatalf("memory holds %d, the oldest forgotten: %v", len(m.by), !m.dup(up, false))
	}
	var none *sentIDs
	none.record(up, true)
	if none.dup(up, true) {
		t.Fatal("a stream without memory dedupes")
	}
}
