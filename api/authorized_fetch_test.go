package api_test

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/tenant"
	"golang.org/x/time/rate"
)

// fetchPeer is a remote fediverse server on loopback, reached through the
// fetch client's test-only allowlist under several host names: each
// serves actors whose keys the test holds, as Mastodon or GoToSocial do.
type fetchPeer struct {
	keys map[string]crypto.PrivateKey // actor id → private key
	pems map[string]string            // actor id → public PEM
	addr string
}

// peerHosts are the names the peer answers on: remote.test is a server
// in good standing, blocked.test is suspended instance-wide and
// rude.test by tenant A only.
var peerHosts = []string{"remote.test", "blocked.test", "rude.test"}

func newFetchPeer(t *testing.T) *fetchPeer {
	t.Helper()
	p := &fetchPeer{keys: map[string]crypto.PrivateKey{}, pems: map[string]string{}}
	for _, h := range peerHosts {
		kp, err := federation.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		priv, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
		if err != nil {
			t.Fatal(err)
		}
		id := "http://" + h + "/users/eve"
		p.keys[id], p.pems[id] = priv, kp.PublicPEM
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := "http://" + r.Host + r.URL.Path
		pem, ok := p.pems[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/activity+json")
		json.NewEncoder(w).Encode(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams"}, "id": id, "type": "Person",
			"preferredUsername": "eve", "inbox": id + "/inbox",
			"publicKey": map[string]string{"id": id + "#main-key", "owner": id, "publicKeyPem": pem},
		})
	}))
	t.Cleanup(srv.Close)
	p.addr = srv.Listener.Addr().String()
	return p
}

// verifier is the production request-verification path (inbox.Service)
// fetching keys from the peer, with the blocks the test sets.
func (p *fetchPeer) verifier(w *world) *inbox.Service {
	resolve := map[string]string{}
	for _, h := range peerHosts {
		resolve[h] = p.addr
	}
	client := fetch.New(fetch.Config{Resolve: resolve})
	return &inbox.Service{
		// A generous failure budget: the bad-signature cases are many.
		Keys:  &actors.Keys{Store: w.accounts, Fetch: client, HostRate: rate.Inf, HostBurst: 1000},
		Store: w.accounts,
		Blocks: domainblock.NewPolicy([]domainblock.Block{
			{Domain: "blocked.test", Severity: domainblock.Suspend},
			{Domain: "rude.test", TenantID: w.tenantA.ID, Severity: domainblock.Suspend},
		}),
	}
}

// signer is how a GET is (or is not) signed.
type signer struct {
	name  string
	actor string // keyId's actor; "" leaves the request unsigned
	key   string // whose private key signs: actor's own, or another's (bad)
	rfc   bool   // RFC 9421 rather than draft-cavage
}

var (
	unsigned   = signer{name: "unsigned"}
	validPeer  = signer{"signed by a valid remote", "http://remote.test/users/eve", "http://remote.test/users/eve", false}
	blockedSig = signer{"signed by an instance-suspended domain", "http://blocked.test/users/eve", "http://blocked.test/users/eve", false}
	badSig     = signer{"bad signature", "http://remote.test/users/eve", "http://rude.test/users/eve", false}
	tenantSig  = signer{"signed by a domain tenant A suspends", "http://rude.test/users/eve", "http://rude.test/users/eve", false}
	valid9421  = signer{"signed by a valid remote (RFC 9421)", "http://remote.test/users/eve", "http://remote.test/users/eve", true}
	bad9421    = signer{"bad signature (RFC 9421)", "http://remote.test/users/eve", "http://rude.test/users/eve", true}
)

// get sends a GET as the peer would, Accept as given.
func (p *fetchPeer) get(t *testing.T, w *world, s signer, host, target, accept string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	scheme := signature.Cavage
	if s.rfc {
		scheme = signature.RFC9421
	}
	if s.actor != "" {
		// Signed as the peer sees it (RFC 9421 signs @target-uri), sent in
		// origin form as it arrives.
		req.URL.Scheme, req.URL.Host = "https", host
		if err := signature.SignWith(scheme, req, nil, s.actor+"#main-key", p.keys[s.key], time.Now()); err != nil {
			t.Fatal(err)
		}
		req.URL.Scheme, req.URL.Host = "", ""
	}
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// afWorld is two tenants serving every ActivityPub route, with a public
// post by each alice, verifying signed GETs against the peer.
func afWorld(t *testing.T, instanceWide bool) (*world, *fetchPeer, map[int64]string) {
	t.Helper()
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	peer := newFetchPeer(t)
	w := newWorld(t)
	// The routes and the verifier need the world's stores: rebuild the app.
	w.opts.InstanceKey, w.opts.Statuses, w.opts.Collections = keys.PublicPEM, w.accounts, w.accounts
	w.opts.AuthorizedFetch, w.opts.Fetches = instanceWide, peer.verifier(w)
	w.opts.Metrics = nil // already registered by the first build
	w.app = api.New(w.opts)
	posts := map[int64]string{}
	for _, a := range []*federation.Account{w.aliceA, w.aliceB} {
		host := a.Domain
		if a.TenantID == w.tenantB.ID {
			host = "social.b.example"
		}
		st, _, err := w.accounts.Publish(context.Background(), &federation.Status{AccountID: a.ID, TenantID: a.TenantID,
			Content: "<p>hello</p>", Visibility: federation.Public, Published: time.Now()},
			func(id int64) string { return fmt.Sprintf("https://%s/users/%s/statuses/%d", host, a.Username, id) },
			func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
		if err != nil {
			t.Fatal(err)
		}
		posts[a.TenantID] = fmt.Sprint(st.ID)
	}
	return w, peer, posts
}

// apRoutes are every ActivityPub GET route that authorized fetch guards,
// with {id} standing for the tenant's public post.
var apRoutes = []string{
	"/users/alice",
	"/@alice",
	"/users/alice/statuses/{id}",
	"/users/alice/outbox",
	"/users/alice/outbox?page=true",
	"/users/alice/followers",
	"/users/alice/followers?page=true",
	"/users/alice/following",
	"/users/alice/following?page=true",
	"/users/alice/collections/featured",
	"/users/alice/collections/tags",
}

// publicRoutes stay open to anyone with authorized fetch on: the instance
// actor (whose key signs our own fetches, so a peer verifying it must not
// need to sign), discovery, and the HTML pages browsers get.
var publicRoutes = []struct{ target, accept string }{
	{"/actor", "application/activity+json"},
	{"/.well-known/webfinger?resource=acct:alice@a.example", ""},
	{"/.well-known/host-meta", ""},
	{"/.well-known/nodeinfo", ""},
	{"/nodeinfo/2.1", ""},
	{"/users/alice", "text/html"},
	{"/@alice", ""},
	{"/users/alice/statuses/{id}", "text/html"},
}

// wantAF checks one route × signer on tenant A's host.
func wantAF(t *testing.T, w *world, p *fetchPeer, s signer, route, post string, status int) {
	t.Helper()
	for _, accept := range []string{"application/activity+json", asAccept} {
		resp := p.get(t, w, s, "a.example", strings.ReplaceAll(route, "{id}", post), accept)
		body := readAll(t, resp.Body)
		if resp.StatusCode != status {
			t.Errorf("%s %s (Accept %s): status %d, want %d: %s", s.name, route, accept, resp.StatusCode, status, body)
			continue
		}
		if status == 200 && !strings.Contains(resp.Header.Get("Content-Type"), "application/activity+json") {
			t.Errorf("%s %s: content type %q", s.name, route, resp.Header.Get("Content-Type"))
		}
		vary := strings.ToLower(strings.Join(resp.Header.Values("Vary"), ","))
		if !strings.Contains(vary, "signature") || !strings.Contains(vary, "accept") {
			t.Errorf("%s %s: Vary %q lacks Signature and Accept", s.name, route, vary)
		}
		if cc := resp.Header.Get("Cache-Control"); status == 200 && !strings.Contains(cc, "private") {
			t.Errorf("%s %s: Cache-Control %q is not private", s.name, route, cc)
		}
		if status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Signature") {
			t.Errorf("%s %s: 401 without WWW-Authenticate: Signature", s.name, route)
		}
	}
}

// TestIssue16AuthorizedFetchInstanceWide: with ROOST_AUTHORIZED_FETCH on
// and no tenant override, every ActivityPub GET route answers a real
// signed GET from a server in good standing, and refuses unsigned (401),
// badly signed (401) and suspended servers' (403: instance-wide, or by
// this tenant) requests; public routes stay public.
func TestIssue16AuthorizedFetchInstanceWide(t *testing.T) {
	t.Parallel()
	w, peer, posts := afWorld(t, true)
	for _, route := range apRoutes {
		for _, c := range []struct {
			s      signer
			status int
		}{{unsigned, 401}, {validPeer, 200}, {blockedSig, 403}, {badSig, 401}, {tenantSig, 403}, {valid9421, 200}, {bad9421, 401}} {
			wantAF(t, w, peer, c.s, route, posts[w.tenantA.ID], c.status)
		}
	}
	for _, r := range publicRoutes {
		resp := peer.get(t, w, unsigned, "a.example", strings.ReplaceAll(r.target, "{id}", posts[w.tenantA.ID]), r.accept)
		if resp.StatusCode != 200 {
			t.Errorf("public %s (Accept %q): status %d, want 200", r.target, r.accept, resp.StatusCode)
		}
	}
	// A tenant's block is its own: tenant B serves rude.test's signed GET.
	for _, route := range apRoutes {
		target := strings.ReplaceAll(route, "{id}", posts[w.tenantB.ID])
		if resp := peer.get(t, w, tenantSig, "social.b.example", target, "application/activity+json"); resp.StatusCode != 200 {
			t.Errorf("tenant B %s signed by rude.test: status %d, want 200", route, resp.StatusCode)
		}
		if resp := peer.get(t, w, unsigned, "social.b.example", target, "application/activity+json"); resp.StatusCode != 401 {
			t.Errorf("tenant B %s unsigned: status %d, want 401", route, resp.StatusCode)
		}
	}
}

// TestIssue16AuthorizedFetchTenantOverride: a tenant's own setting beats
// the instance's both ways; a tenant without one follows the instance.
func TestIssue16AuthorizedFetchTenantOverride(t *testing.T) {
	t.Parallel()
	on, off := true, false
	for _, c := range []struct {
		name         string
		instanceWide bool
		tenantA      *bool
		secured      bool
	}{
		{"instance off, tenant on", false, &on, true},
		{"instance on, tenant off", true, &off, false},
		{"instance off, tenant default", false, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, peer, posts := afWorld(t, c.instanceWide)
			// The tenant's setting as the host cache hands it over (stored
			// by tenant/postgres: SetAuthorizedFetch, read by SiteByHost).
			w.opts.Sites = overrideSites{w.opts.Sites, map[int64]*bool{w.tenantA.ID: c.tenantA}}
			w.app = api.New(w.opts)
			for _, route := range apRoutes {
				if c.secured {
					for _, s := range []struct {
						s      signer
						status int
					}{{unsigned, 401}, {validPeer, 200}, {blockedSig, 403}, {badSig, 401}, {tenantSig, 403}} {
						wantAF(t, w, peer, s.s, route, posts[w.tenantA.ID], s.status)
					}
				} else {
					for _, s := range []signer{unsigned, validPeer, blockedSig, badSig} {
						target := strings.ReplaceAll(route, "{id}", posts[w.tenantA.ID])
						if resp := peer.get(t, w, s, "a.example", target, "application/activity+json"); resp.StatusCode != 200 {
							t.Errorf("%s %s: status %d, want 200 (authorized fetch off)", s.name, route, resp.StatusCode)
						}
					}
				}
				// Tenant B has no override: it follows the instance.
				target := strings.ReplaceAll(route, "{id}", posts[w.tenantB.ID])
				want := 200
				if c.instanceWide {
					want = 401
				}
				if resp := peer.get(t, w, unsigned, "social.b.example", target, "application/activity+json"); resp.StatusCode != want {
					t.Errorf("tenant B %s unsigned: status %d, want %d", route, resp.StatusCode, want)
				}
			}
		})
	}
}

// overrideSites hands out Sites carrying their tenant's own setting.
type overrideSites struct {
	tenant.Resolver
	af map[int64]*bool
}

func (o overrideSites) Resolve(ctx context.Context, host string) (*tenant.Site, error) {
	site, err := o.Resolver.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	cp := *site // the cache's Site is shared: never write through it
	cp.AuthorizedFetch = o.af[site.TenantID]
	return &cp, nil
}
