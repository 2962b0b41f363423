package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// Stored media answer single byte-range requests (RFC 7233) as video
// and audio players need: 206 with Content-Range, 416 past the end, the
// whole file for several ranges.
func TestMediaRangeRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, addr := mediaNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	att, err := alice.UploadMediaFromBytes(ctx, testPNG(t, 32, 32))
	if err != nil {
		t.Fatal(err)
	}
	resp, full := fetchURL(t, addr, att.URL)
	if resp.StatusCode != 200 || len(full) < 20 || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole file: %d, %d bytes, Accept-Ranges %q", resp.StatusCode, len(full), resp.Header.Get("Accept-Ranges"))
	}
	size := len(full)
	for _, c := range []struct {
		rng        string
		code       int
		start, end int // the bytes expected, end inclusive
	}{
		{"bytes=0-9", 206, 0, 9},
		{"bytes=10-", 206, 10, size - 1},
		{"bytes=-5", 206, size - 5, size - 1},
		{fmt.Sprintf("bytes=5-%d", size+100), 206, 5, size - 1},
		{fmt.Sprintf("bytes=-%d", size+100), 206, 0, size - 1},
		{"bytes=0-1,4-5", 200, 0, size - 1}, // several ranges: the whole file
		{"items=0-1", 200, 0, size - 1},     // not bytes: ignored
	} {
		resp, body := fetchURL(t, addr, att.URL, "Range", c.rng)
		if resp.StatusCode != c.code || !bytes.Equal(body, full[c.start:c.end+1]) {
			t.Errorf("%s: %d with %d bytes, want %d with bytes %d-%d", c.rng, resp.StatusCode, len(body), c.code, c.start, c.end)
			continue
		}
		want := ""
		if c.code == 206 {
			want = fmt.Sprintf("bytes %d-%d/%d", c.start, c.end, size)
		}
		if got := resp.Header.Get("Content-Range"); got != want {
			t.Errorf("%s: Content-Range %q, want %q", c.rng, got, want)
		}
		if resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", c.rng, resp.Header)
		}
	}
	resp, _ = fetchURL(t, addr, att.URL, "Range", fmt.Sprintf("bytes=%d-", size))
	if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", size) {
		t.Errorf("past the end: %d, Content-Range %q; want 416 bytes */%d", resp.StatusCode, resp.Header.Get("Content-Range"), size)
	}
}
