package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// rawSSE reads a server-sent event stream as any client would, for the
// events go-mastodon does not know (filters_changed).
type rawSSE struct {
	mu     sync.Mutex
	events [][2]string // name, data
}

func openRawSSE(t *testing.T, ctx context.Context, addr, host, path, token string) *rawSSE {
	t.Helper()
	hc := hostClient(addr)
	hc.Timeout = 0
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+host+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("stream %s: %d", path, resp.StatusCode)
	}
	opened := make(chan struct{})
	s := &rawSSE{}
	go func() {
		defer resp.Body.Close()
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
				s.mu.Lock()
				s.events = append(s.events, [2]string{name, strings.TrimPrefix(line, "data: ")})
				s.mu.Unlock()
			}
		}
	}()
	select {
	case <-opened:
	case <-time.After(30 * time.Second):
		t.Fatal("stream never opened")
	}
	return s
}

// count counts the events named name whose data contains substr.
func (s *rawSSE) count(name, substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e[0] == name && strings.Contains(e[1], substr) {
			n++
		}
	}
	return n
}

// The viewer's filters apply to what the streaming API sends, as to the
// REST timelines: bob's hide filter on "secret" keeps alice's secret post
// off his user stream (WebSocket, go-mastodon) while her other posts
// arrive; a warn filter fills the payload's filtered field; creating a
// filter sends filters_changed on bob's user stream.
func TestStreamFiltersWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	ch, err := wsClient(bob, addr).StreamingWSUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bobWS := record(ch)
	bobSSE := openRawSSE(t, ctx, addr, "a.test", "/api/v1/streaming/user", bob.Config.AccessToken)
	post := func(text string) *mastodon.Status {
		t.Helper()
		s, err := alice.PostStatus(ctx, &mastodon.Toot{Status: text, Visibility: "public"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The WebSocket connects in the background: post until it hears one.
	for i := 0; !bobWS.has(anyUpdate); i++ {
		if i == 300 {
			t.Fatalf("bob's stream never heard alice: %s", bobWS)
		}
		post("warming up")
		time.Sleep(100 * time.Millisecond)
	}

	newFilter := func(body string) {
		t.Helper()
		if code, out := clientDo(t, bob, "POST", "/api/v2/filters", "application/json", strings.NewReader(body)); code != 200 {
			t.Fatalf("create filter: %d %s", code, out)
		}
	}
	newFilter(`{"title":"no secrets","context":["home","public"],"filter_action":"hide","keywords_attributes":[{"keyword":"secret"}]}`)
	eventuallyTrue(t, "filters_changed on bob's user stream", func() bool { return bobSSE.count("filters_changed", "") == 1 })

	secret := post("my secret plan")
	plain := post("a plain post")
	waitEvent(t, "alice's plain post", bobWS, isUpdate(plain.ID))
	eventuallyTrue(t, "the plain post on bob's SSE stream", func() bool { return bobSSE.count("update", `"id":"`+string(plain.ID)+`"`) == 1 })
	if bobWS.has(isUpdate(secret.ID)) || bobSSE.count("update", `"id":"`+string(secret.ID)+`"`) != 0 {
		t.Fatalf("bob's stream carried the filtered post: %s", bobWS)
	}
	// The REST home timeline agrees.
	home, err := bob.GetTimelineHome(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := statusIDs(home)
	if !strings.Contains(strings.Join(ids, ","), string(plain.ID)) || strings.Contains(strings.Join(ids, ","), string(secret.ID)) {
		t.Fatalf("bob's home timeline %v: want %s without %s", ids, plain.ID, secret.ID)
	}
	// alice sees her own post: filters are bob's.
	if s, err := alice.GetStatus(ctx, secret.ID); err != nil || len(s.Filtered) != 0 {
		t.Fatalf("alice's own post: %+v %v", s, err)
	}

	// A warn filter: the post arrives with filtered filled.
	newFilter(`{"title":"spoilers","context":["home"],"filter_action":"warn","keywords_attributes":[{"keyword":"spoiler"}]}`)
	eventuallyTrue(t, "second filters_changed", func() bool { return bobSSE.count("filters_changed", "") == 2 })
	warned := post("a spoiler ahead")
	waitEvent(t, "the warned post", bobWS, func(e mastodon.Event) bool {
		u, ok := e.(*mastodon.UpdateEvent)
		return ok && u.Status.ID == warned.ID && len(u.Status.Filtered) == 1 && u.Status.Filtered[0].Filter.Title == "spoilers"
	})
}
