package soak

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
)

// edgeActor is a remote server at the edge of the machine, played in
// process: it publishes one actor (so Roost can fetch its key), follows
// local accounts and posts to them with signed requests, and receives
// deliveries, which it verifies against the local accounts' key and
// counts per (inbox, activity id). A slow one answers after seconds; a
// flaky one fails a share of deliveries with a 500 or a connection
// closed without an answer.
type edgeActor struct {
	host, user string
	slow       bool
	flaky      bool
	localPub   crypto.PublicKey // the seeded local accounts share one key
	key        crypto.PrivateKey
	pubPEM     string
	srv        *http.Server
	Addr       string

	mu       sync.Mutex
	rnd      *rand.Rand
	accepted map[string]int
	rejected []string
}

func newEdgeActor(host, user string, seed uint64, slow, flaky bool, localPubPEM string) (*edgeActor, error) {
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	e := &edgeActor{host: host, user: user, slow: slow, flaky: flaky, pubPEM: kp.PublicPEM,
		rnd: rand.New(rand.NewPCG(seed, 77)), accepted: map[string]int{}}
	if e.key, err = signature.ParsePrivateKeyPEM(kp.PrivatePEM); err != nil {
		return nil, err
	}
	if e.localPub, err = signature.ParsePublicKeyPEM(localPubPEM); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.Addr = l.Addr().String()
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(l) }() // ends with Close
	return e, nil
}

func (e *edgeActor) close() { _ = e.srv.Close() }

// URI is the actor's id.
func (e *edgeActor) URI() string { return "http://" + e.host + "/users/" + e.user }

func (e *edgeActor) inbox() string { return e.URI() + "/inbox" }

func (e *edgeActor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/users/"+e.user:
		w.Header().Set("Content-Type", "application/activity+json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       e.URI(), "type": "Person", "preferredUsername": e.user, "name": e.user,
			"inbox": e.inbox(), "outbox": e.URI() + "/outbox", "followers": e.URI() + "/followers",
			"publicKey": map[string]any{"id": e.URI() + "#main-key", "owner": e.URI(), "publicKeyPem": e.pubPEM},
		})
	case r.Method == http.MethodPost && r.URL.Path == "/users/"+e.user+"/inbox":
		e.receive(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (e *edgeActor) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		var p *signature.Params
		if p, err = signature.Check(r, body, time.Now()); err == nil {
			err = signature.Verify(r, p, e.localPub)
		}
	}
	id := activityID(body)
	if err != nil || id == "" {
		e.mu.Lock()
		e.rejected = append(e.rejected, fmt.Sprintf("%s: %v", id, err))
		e.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	e.mu.Lock()
	x := e.rnd.IntN(100)
	wait := time.Duration(500+e.rnd.IntN(2500)) * time.Millisecond
	e.mu.Unlock()
	switch {
	case e.flaky && x < 20:
		http.Error(w, "flaky", http.StatusInternalServerError)
		return
	case e.flaky && x < 30:
		// A connection closed without an answer: the sender cannot know
		// whether it arrived, and must send it again.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
	case e.slow:
		time.Sleep(wait)
	}
	e.mu.Lock()
	e.accepted[r.Host+r.URL.Path+" "+id]++
	e.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (e *edgeActor) count(inboxURL, activity string) int {
	key := strings.TrimPrefix(inboxURL, "http://") + " " + activity
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accepted[key]
}

// signed builds a signed POST of activity to a local inbox through the
// balancer, its Date moved by skew (within what receivers allow).
func (e *edgeActor) signed(ctx context.Context, lb, domain string, activity map[string]any, skew time.Duration) (*http.Request, error) {
	body, err := json.Marshal(activity)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, "POST", "http://"+domain+"/inbox", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(r, body, e.URI()+"#main-key", e.key, time.Now().Add(skew)); err != nil {
		return nil, err
	}
	r.URL.Host = lb // sent to the balancer, signed for the tenant's host
	r.Host = domain
	return r, nil
}

// activityID is the "id" of an ActivityStreams body ("" if none).
func activityID(body []byte) string {
	var a struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &a) // no id: counted as ""
	return a.ID
}
