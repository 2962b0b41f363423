package interop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/testenv"
)

// Issue 16, bug 3: WebFinger and NodeInfo requests went out with the
// instance's own URL scheme (https in production) to every host, so a
// ROOST_FEDERATION_RESOLVE host documented as plain HTTP was dialled with
// TLS; and GET /api/v1/accounts/search?resolve=true answered 200 with an
// empty list, logging nothing. A real `roost serve` and `roost work`
// (ROOST_URL_SCHEME=https, as behind a TLS proxy) look up a peer listed in
// the older host=ip:port syntax, which means plain HTTP, and one listed as
// http:// that is down: the first is found and its NodeInfo read over
// HTTP, the second's failure is logged with its host and reason.
func TestIssue16Bug3ResolveOverrideSchemeAndSearchLog(t *testing.T) {
	t.Parallel()
	peer := newPlainPeer(t, "plain.test")
	closed := freePort(t, "127.0.0.1")
	addr := "127.0.0.1:" + freePort(t, "127.0.0.1")
	n := &roostNode{host: "bug3.test", db: testenv.DatabaseURL(t)}
	n.env = append(cleanEnv(),
		"ROOST_DATABASE_URL="+n.db,
		"ROOST_REDIS_URL="+testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:bug3:", os.Getpid()),
		"ROOST_HTTP_ADDR="+addr,
		"ROOST_URL_SCHEME=https",
		"ROOST_FEDERATION_RESOLVE=plain.test="+peer.addr+",down.test=http://127.0.0.1:"+closed,
		"ROOST_LOG_LEVEL=info",
		"ROOST_MEDIA_DIR="+t.TempDir(),
	)
	n.roost(t, "tenant", "create", "--name", "Bug 3", "--domain", n.host)
	n.createAccount(t, "bob")
	cmd := exec.Command(roostBin(t), "serve")
	cmd.Env = n.env
	n.serve = startProc(t, "roost serve", cmd)
	hc := webClient(map[string]string{n.host: addr}, nil)
	waitFor(t, "roost serve", func() bool {
		resp, err := hc.Get("http://" + n.host + "/.well-known/nodeinfo")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	bob := signInAt(t, hc, "http://"+n.host, "bob", roostPassword)

	// The peer listed as host=ip:port is reached over plain HTTP.
	var found []account
	if err := bob.call("GET", "/api/v1/accounts/search?"+url.Values{"q": {"@pat@plain.test"}, "resolve": {"true"}}.Encode(), nil, &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Acct != "pat@plain.test" {
		t.Fatalf("search for pat@plain.test found %+v; peer saw %v\n%s", found, peer.paths(), tail(n.serve.log(), 30))
	}
	// The worker reads the new host's NodeInfo, over plain HTTP as well.
	cmd = exec.Command(roostBin(t), "work")
	cmd.Env = n.env
	startProc(t, "roost work", cmd)
	waitFor(t, "NodeInfo of plain.test", func() bool {
		v, err := queryDB(t, n.db, `select convert_to(coalesce(software, '') || '/' || coalesce(nodeinfo_error, ''), 'UTF8') from remote_hosts where host = 'plain.test'`)
		return err == nil && string(v) == "plainpeer/"
	})

	// A peer that is down: no account, but the reason is in the log.
	if err := bob.call("GET", "/api/v1/accounts/search?"+url.Values{"q": {"@sam@down.test"}, "resolve": {"true"}}.Encode(), nil, &found); err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Fatalf("search for sam@down.test found %+v", found)
	}
	waitFor(t, "the failed lookup in the log", func() bool {
		for _, line := range strings.Split(n.serve.log(), "\n") {
			if strings.Contains(line, "account not resolved") && strings.Contains(line, "host=down.test") &&
				strings.Contains(line, "err=") && strings.Contains(line, "level=WARN") {
				return true
			}
		}
		return false
	})
}

// plainPeer is a fediverse server over plain HTTP with one account, pat:
// WebFinger, the actor and NodeInfo.
type plainPeer struct {
	addr string
	log  chan string
}

func (p *plainPeer) paths() []string {
	var out []string
	for {
		select {
		case s := <-p.log:
			out = append(out, s)
		default:
			return out
		}
	}
}

func newPlainPeer(t *testing.T, host string) *plainPeer {
	t.Helper()
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + host
	actor := base + "/users/pat"
	docs := map[string]struct {
		ctype string
		body  any
	}{
		"/.well-known/webfinger": {"application/jrd+json", map[string]any{"subject": "acct:pat@" + host,
			"links": []any{map[string]any{"rel": "self", "type": "application/activity+json", "href": actor}}}},
		"/users/pat": {"application/activity+json", map[string]any{
			"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       actor, "type": "Person", "preferredUsername": "pat", "name": "Pat",
			"inbox": actor + "/inbox", "outbox": actor + "/outbox", "followers": actor + "/followers",
			"endpoints": map[string]any{"sharedInbox": base + "/inbox"},
			"publicKey": map[string]any{"id": actor + "#main-key", "owner": actor, "publicKeyPem": keys.PublicPEM}}},
		"/.well-known/nodeinfo": {"application/json", map[string]any{"links": []any{map[string]any{
			"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": base + "/nodeinfo/2.1"}}}},
		"/nodeinfo/2.1": {"application/json", map[string]any{"version": "2.1",
			"software": map[string]any{"name": "plainpeer", "version": "1.0"}, "protocols": []string{"activitypub"},
			"usage": map[string]any{"users": map[string]any{"total": 1}}, "openRegistrations": false}},
	}
	p := &plainPeer{log: make(chan string, 100)}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case p.log <- r.Method + " " + r.URL.Path:
		default:
		}
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", d.ctype)
		json.NewEncoder(w).Encode(d.body)
	}))
	srv.Start() // plain HTTP, on 127.0.0.1: a TLS handshake against it fails
	t.Cleanup(srv.Close)
	p.addr = srv.Listener.Addr().String()
	return p
}

// waitFor polls cond up to a generous liveness bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
