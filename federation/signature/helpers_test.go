package signature

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	fixtures_ "github.com/roost-social/roost/internal/fixtures"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// t0 is the injected "now" of the tests that sign their own requests.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const testKeyID = "https://remote.example/users/bob#main-key"

// testKey is one RSA-2048 key for the whole run: generating it is the
// slowest thing these tests do.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// newPost is a client-side inbox POST for tenant host a.example.
func newPost(t testing.TB) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, "https://a.example/users/alice/inbox", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	return r
}

var activity = []byte(`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://remote.example/users/bob/statuses/1/activity","type":"Create","actor":"https://remote.example/users/bob","object":{"id":"https://remote.example/users/bob/statuses/1","type":"Note","content":"<p>hello, a.example</p>"}}`)

// signedPost signs a POST of body at t0 and returns it as a server sees it.
func signedPost(t testing.TB, body []byte) *http.Request {
	t.Helper()
	r := newPost(t)
	if err := Sign(r, body, testKeyID, testKey(), t0); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return toServer(t, r, body)
}

// toServer sends r through the wire format and reads it back as net/http's
// server would: Host moves out of the header map into r.Host, the URL holds
// only the path and query, header names are canonical.
func toServer(t testing.TB, r *http.Request, body []byte) *http.Request {
	t.Helper()
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("body changed in transit: %q", got)
	}
	return sr
}

// checkAndVerify is the inbox's decision: Check, then Verify with pub.
func checkAndVerify(r *http.Request, body []byte, now time.Time, pub any) error {
	p, err := Check(r, body, now)
	if err != nil {
		return err
	}
	return Verify(r, p, pub)
}

// wantUnauthorized fails unless err is errs.Unauthorized whose message
// contains msg (when msg is not empty).
func wantUnauthorized(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want unauthorized %q", msg)
	}
	if errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("code = %s, want unauthorized (err %v)", errs.CodeOf(err), err)
	}
	if !strings.Contains(errs.MessageOf(err), msg) {
		t.Fatalf("message = %q, want it to contain %q", errs.MessageOf(err), msg)
	}
}

// fixtures returns the shared fixtures directory.
func fixtures(t testing.TB) string { return fixtures_.Dir(t) }
