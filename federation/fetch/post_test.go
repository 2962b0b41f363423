package fetch

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Post returns the inbox's status, whatever it is, and signs each call
// afresh on the request it sends, with the body.
func TestPost(t *testing.T) {
	type delivery struct{ ctype, ua, date, body string }
	var mu sync.Mutex
	var got []delivery
	elsewhere := newPeer(t, "127.0.0.3", false, func(w http.ResponseWriter, _ *http.Request) {})
	p := newPeer(t, "127.0.0.2", false, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Get("Content-Type"), r.UserAgent(), r.Header.Get("Date"), string(b)})
		mu.Unlock()
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "http://b.test/inbox", http.StatusTemporaryRedirect)
		case "/big":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(make([]byte, 4<<20))
		default:
			status, _ := strconv.Atoi(r.URL.Query().Get("status"))
			w.WriteHeader(status)
		}
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p, "b.test": elsewhere})
	var calls int
	sign := func(r *http.Request, body []byte) error {
		calls++
		r.Header.Set("Date", "attempt "+strconv.Itoa(calls)+" of "+strconv.Itoa(len(body))+" bytes")
		return nil
	}
	activity := []byte(`{"id":"https://roost.test/activities/1","type":"Follow"}`)
	for _, status := range []int{202, 200, 204, 400, 401, 404, 410, 429, 500, 503} {
		code, err := c.Post(context.Background(), "http://a.test/inbox?status="+strconv.Itoa(status), activity, sign)
		if err != nil || code != status {
			t.Errorf("status %d: got %d, %v", status, code, err)
		}
	}
	if calls != 10 || len(got) != 10 {
		t.Fatalf("signer called %d times for %d deliveries, want 10", calls, len(got))
	}
	for i, d := range got {
		want := delivery{ActivityContentType, DefaultUserAgent, "attempt " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(activity)) + " bytes", string(activity)}
		if d != want {
			t.Errorf("delivery %d arrived as %+v, want %+v", i, d, want)
		}
	}

	// Redirects are returned, not followed.
	code, err := c.Post(context.Background(), "http://a.test/moved", activity, sign)
	if err != nil || code != http.StatusTemporaryRedirect {
		t.Fatalf("moved: got %d, %v", code, err)
	}
	assertUntouched(t, elsewhere)

	// A large error page is not read to the end, and does not fail the call.
	code, err = c.Post(context.Background(), "http://a.test/big", activity, sign)
	if err != nil || code != http.StatusBadRequest {
		t.Fatalf("big: got %d, %v", code, err)
	}

	// A signer failing stops the delivery before anything is sent.
	before := p.requests.Load()
	_, err = c.Post(context.Background(), "http://a.test/inbox?status=202", activity, func(*http.Request, []byte) error {
		return errs.E(errs.Internal, "key unavailable")
	})
	assertCode(t, err, errs.Internal)
	if p.requests.Load() != before {
		t.Error("a delivery was sent after the signer failed")
	}
}

// Connection failures are errors, unlike statuses.
func TestPostUnreachable(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, func(http.ResponseWriter, *http.Request) {})
	addr := p.addr()
	p.Close()
	c := New(Config{Resolve: map[string]string{"a.test": addr}})
	code, err := c.Post(context.Background(), "http://a.test/inbox", []byte(`{}`), nil)
	assertCode(t, err, errs.Unavailable)
	if code != 0 {
		t.Errorf("got status %d with an error", code)
	}
}
