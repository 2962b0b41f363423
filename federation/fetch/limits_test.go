package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// A peer that sends headers at once and then trickles the body is cut off
// by the total deadline, not by any per-read timeout it keeps resetting.
func TestTrickleAborted(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", asType)
		w.WriteHeader(http.StatusOK)
		for {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	c := newClient(t, Config{Timeout: time.Second}, map[string]*peer{"a.test": p})
	_, _, err := c.GetActivity(context.Background(), "http://a.test/x", nil)
	assertCode(t, err, errs.Unavailable)
	_, err = c.GetJSON(context.Background(), "http://a.test/x", asType, []string{asType})
	assertCode(t, err, errs.Unavailable)
}

// A peer that never answers is cut off too, for GET and POST.
func TestHangBeforeHeadersAborted(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, func(_ http.ResponseWriter, r *http.Request) {
		// The server notices a client hanging up only once the request
		// body has been read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	c := newClient(t, Config{Timeout: 300 * time.Millisecond}, map[string]*peer{"a.test": p})
	_, _, err := c.GetActivity(context.Background(), "http://a.test/x", nil)
	assertCode(t, err, errs.Unavailable)
	_, err = c.Post(context.Background(), "http://a.test/inbox", []byte(`{}`), nil)
	assertCode(t, err, errs.Unavailable)

	// The caller's own deadline applies when it is the shorter one.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	long := newClient(t, Config{Timeout: time.Hour}, map[string]*peer{"a.test": p})
	_, _, err = long.GetActivity(ctx, "http://a.test/x", nil)
	assertCode(t, err, errs.Unavailable)
}

// A 2 GB body, streamed and never buffered by the peer, is cut off at the
// cap, whether or not it declares its length.
func TestHugeBody(t *testing.T) {
	const size = 2 << 30
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", asType)
		if r.URL.Query().Has("declared") {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		zeros := make([]byte, 32<<10)
		for sent := 0; sent < size; sent += len(zeros) {
			if _, err := w.Write(zeros); err != nil {
				return // the client hung up
			}
		}
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	for _, u := range []string{"http://a.test/x", "http://a.test/x?declared"} {
		_, _, err := c.GetActivity(context.Background(), u, nil)
		assertCode(t, err, errs.TooLarge)
		_, err = c.GetJSON(context.Background(), u, asType, []string{asType})
		assertCode(t, err, errs.TooLarge)
	}
}

var bomb = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 100 {
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()
	return buf.Bytes()
})

// The cap counts decompressed bytes: ~100 KB of gzip that inflates to
// 100 MB stops at MaxBody. A small gzip document is decoded as usual.
func TestGzip(t *testing.T) {
	small := gzipped(t, note("http://a.test/small"))
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", asType)
		w.Header().Set("Content-Encoding", "gzip")
		if r.URL.Path == "/small" {
			_, _ = w.Write(small)
			return
		}
		_, _ = w.Write(bomb())
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	body, _, err := c.GetActivity(context.Background(), "http://a.test/small", nil)
	if err != nil || !bytes.Equal(body, []byte(note("http://a.test/small"))) {
		t.Fatalf("small gzip: %q, %v", body, err)
	}
	if len(bomb()) > 1<<20 {
		t.Fatalf("the bomb is %d bytes compressed: it should be under the cap", len(bomb()))
	}
	_, _, err = c.GetActivity(context.Background(), "http://a.test/bomb", nil)
	assertCode(t, err, errs.TooLarge)
	_, err = c.GetJSON(context.Background(), "http://a.test/bomb", asType, []string{asType})
	assertCode(t, err, errs.TooLarge)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A document exactly at the cap passes; one byte more does not.
func TestBodyCapBoundary(t *testing.T) {
	doc := note("http://a.test/x")
	p := newPeer(t, "127.0.0.1", false, serveJSON(asType, doc))
	at := newClient(t, Config{MaxBody: int64(len(doc))}, map[string]*peer{"a.test": p})
	if _, _, err := at.GetActivity(context.Background(), "http://a.test/x", nil); err != nil {
		t.Fatal(err)
	}
	under := newClient(t, Config{MaxBody: int64(len(doc) - 1)}, map[string]*peer{"a.test": p})
	_, _, err := under.GetActivity(context.Background(), "http://a.test/x", nil)
	assertCode(t, err, errs.TooLarge)
}
