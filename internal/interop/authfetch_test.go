package interop

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// authorizedFetchSteps turn authorized fetch on for Roost's tenant (issue
// 16; the per-tenant override, told to the running web node through the
// host cache's invalidation) and check that GoToSocial, which signs its
// GETs, still fetches a Roost actor it has never seen and a new post,
// while an unsigned GET is answered 401 and the public documents stay
// public.
// authorizedFetchSteps restart Roost's web node with authorized fetch on
// (ROOST_AUTHORIZED_FETCH=true, issue 16) and check that GoToSocial, which
// signs its GETs, still fetches a Roost actor it has never seen and a new
// post, while an unsigned GET is answered 401 and the public documents
// stay public. Last, a tenant turns it off for itself (`roost tenant
// authorized-fetch`), which the running node learns through its host
// cache's invalidation.
func (p *peers) authorizedFetchSteps(t *testing.T) {
	// Restarted on the whole test's t: the new process lives until it ends.
	p.roost.restartServe(t, "ROOST_AUTHORIZED_FETCH=true")
	const on = "authorized fetch on: unsigned GET refused, public documents open"
	p.step(t, on, nil, func(t *testing.T) {
		for _, target := range []string{"/users/bob", "/users/bob/outbox", "/users/bob/followers", "/users/bob/collections/featured"} {
			if code, body := rawGet(p.bob.hc, p.roost.url()+target, "application/activity+json"); code != http.StatusUnauthorized {
				t.Errorf("unsigned GET %s: status %d: %s", target, code, truncate(body, 200))
			}
		}
		wf := "/.well-known/webfinger?resource=" + url.QueryEscape("acct:bob@"+roostHost)
		for _, c := range []struct{ target, accept string }{
			{"/actor", "application/activity+json"}, {wf, ""}, {"/.well-known/nodeinfo", ""}, {"/@bob", "text/html"},
		} {
			if code, body := rawGet(p.bob.hc, p.roost.url()+c.target, c.accept); code != http.StatusOK {
				t.Errorf("unsigned GET %s stays public: status %d: %s", c.target, code, truncate(body, 200))
			}
		}
	})
	const actor = "authorized fetch: gts fetches a new roost actor (signed GET)"
	var frank *person
	p.step(t, actor, []string{on}, func(t *testing.T) {
		p.roost.createAccount(t, "frank")
		frank = signIn(t, p.bob.hc, roostHost, "frank", roostPassword)
		p.idOf(t, p.alice, frank.acct) // first contact: GoToSocial fetches frank's actor
	})
	const post = "authorized fetch: gts fetches a roost post (signed GET)"
	var postURI string
	p.step(t, post, []string{actor}, func(t *testing.T) {
		st, err := frank.post("fetched with a signature "+nonce(), url.Values{"visibility": {"public"}})
		if err != nil {
			t.Fatal(err)
		}
		postURI = st.URI
		var found struct {
			Statuses []status `json:"statuses"`
		}
		q := url.Values{"q": {st.URI}, "resolve": {"true"}, "type": {"statuses"}}
		if err := p.alice.call("GET", "/api/v2/search?"+q.Encode(), nil, &found); err != nil {
			t.Fatal(err)
		}
		if len(found.Statuses) != 1 || found.Statuses[0].URI != st.URI {
			t.Fatalf("GoToSocial's search for %s found %d statuses", st.URI, len(found.Statuses))
		}
		if code, _ := rawGet(p.bob.hc, st.URI, "application/activity+json"); code != http.StatusUnauthorized {
			t.Errorf("unsigned GET of the post: status %d, want 401", code)
		}
	})
	p.step(t, "authorized fetch: a tenant turns it off for itself", []string{post}, func(t *testing.T) {
		p.roost.roost(t, "tenant", "authorized-fetch", "--tenant", roostHost, "off")
		eventually(t, "an unsigned GET of the post answered 200", func() (bool, string) {
			code, _ := rawGet(p.bob.hc, postURI, "application/activity+json")
			return code == http.StatusOK, fmt.Sprint("status ", code)
		})
	})
}

// restartServe stops the web node and starts it again with env added
// (the worker keeps running).
func (n *roostNode) restartServe(t *testing.T, env ...string) {
	t.Helper()
	n.serve.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.serve.done:
	case <-time.After(30 * time.Second):
		t.Fatal("roost serve did not stop within 30 s of SIGTERM")
	}
	n.env = append(n.env, env...)
	cmd := exec.Command(roostBin(t), "serve")
	cmd.Env = n.env
	n.serve = startProc(t, "roost serve (restarted)", cmd)
	n.waitReady(t)
}

// url is the node's base URL.
func (n *roostNode) url() string { return "https://" + n.host }

// rawGet is a plain, unsigned GET, as a stranger or a browser sends it.
func rawGet(hc *http.Client, target, accept string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return 0, err.Error()
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}
