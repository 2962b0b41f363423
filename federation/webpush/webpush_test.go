package webpush_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/webpush"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pushtest"
)

func vapidKeys(t *testing.T) federation.VAPIDKeys {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := base64.RawURLEncoding
	return federation.VAPIDKeys{Public: b.EncodeToString(k.PublicKey().Bytes()), Private: b.EncodeToString(k.Bytes())}
}

// receiver starts a push service on loopback, reachable through the safe
// client as push.test (its test-only resolve map).
func receiver(t *testing.T, keys federation.VAPIDKeys) (*pushtest.Receiver, *webpush.Sender) {
	t.Helper()
	r, err := pushtest.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	r.ServerKey = keys.Public
	client := fetch.New(fetch.Config{Resolve: map[string]string{"push.test": "http://" + r.Listener.Addr().String()}})
	return r, &webpush.Sender{Fetch: client}
}

// A push arrives encrypted for the subscriber's keys only (RFC 8291),
// signed with the server's VAPID key (RFC 8292), with a TTL and the
// push service's status passed back.
func TestIssue17PushIsEncryptedAndSignedForTheSubscriber(t *testing.T) {
	keys := vapidKeys(t)
	r, s := receiver(t, keys)
	r.Answer(http.StatusGone)
	msg := federation.PushMessage{Endpoint: "http://push.test/sub/1", P256DH: r.Keys.P256DH(), Auth: r.Keys.AuthSecret(),
		Payload: []byte(`{"title":"hello"}`), Subject: "https://a.example", TTL: time.Hour, Urgency: "normal"}
	status, err := s.SendPush(context.Background(), msg, keys)
	if err != nil || status != http.StatusGone {
		t.Fatalf("SendPush = %d, %v; want the service's 410", status, err)
	}
	got := r.Pushes()
	if len(got) != 1 || got[0].Err != nil || string(got[0].Payload) != `{"title":"hello"}` {
		t.Fatalf("received %+v", got)
	}
	h := got[0].Header
	if h.Get("TTL") != "3600" || h.Get("Urgency") != "normal" || h.Get("Content-Type") != "application/octet-stream" ||
		got[0].Path != "/sub/1" {
		t.Errorf("headers %v, path %s", h, got[0].Path)
	}

	// Another subscriber's keys cannot open it.
	other, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	msg.P256DH, msg.Auth = other.P256DH(), other.AuthSecret()
	if _, err := s.SendPush(context.Background(), msg, keys); err != nil {
		t.Fatal(err)
	}
	if p := r.Pushes()[1]; p.Err == nil || !strings.Contains(p.Err.Error(), "decrypt") {
		t.Fatalf("a push for other keys decrypted with the receiver's: %+v", p)
	}
}

// The request goes through the safe client: an endpoint on a private
// address, or plain http to a host the client does not map, is refused
// before anything is sent, as a permanent error.
func TestIssue17PushGoesThroughTheSafeClient(t *testing.T) {
	keys := vapidKeys(t)
	r, _ := receiver(t, keys)
	s := &webpush.Sender{Fetch: fetch.New(fetch.Config{})}
	for _, endpoint := range []string{"https://127.0.0.1:1/x", "https://10.1.2.3/x", "http://push.example/x"} {
		_, err := s.SendPush(context.Background(), federation.PushMessage{Endpoint: endpoint, P256DH: r.Keys.P256DH(),
			Auth: r.Keys.AuthSecret(), Payload: []byte("{}"), Subject: "https://a.example", TTL: time.Minute}, keys)
		if c := errs.CodeOf(err); c != errs.Forbidden {
			t.Errorf("%s: %v (code %s), want forbidden", endpoint, err, c)
		}
	}
	if len(r.Pushes()) != 0 {
		t.Fatal("something reached the receiver")
	}
}
