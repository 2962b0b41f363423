package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/federation"
)

// Issue 16, bug 2: servers that check a signer by WebFinger before trusting
// its signature (GoToSocial; Mastodon names its own instance actor
// acct:<host>@<host>) look up the key owner's preferredUsername@host. Roost
// signs fetches as https://<host>/actor, whose preferredUsername is the
// host: that lookup must find the instance actor on every tenant host, and
// round-trip (subject, self link, actor id and preferredUsername agree).
func TestIssue16Bug2InstanceActorWebFinger(t *testing.T) {
	t.Parallel()
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, func(o *api.Options) { o.InstanceKey = keys.PublicPEM })
	// Tenant A has one domain; tenant B's actors live on its service domain,
	// so its instance actor is social.b.example's, asked on either host.
	for _, c := range []struct{ host, actorHost string }{
		{"a.example", "a.example"},
		{"b.example", "social.b.example"},
		{"social.b.example", "social.b.example"},
	} {
		actor := decode(t, w.get(t, c.host, "/actor", "Accept", "application/activity+json"), 200)
		id, _ := actor["id"].(string)
		user, _ := actor["preferredUsername"].(string)
		if id != "https://"+c.actorHost+"/actor" || user != c.actorHost || actor["url"] != "https://"+c.actorHost {
			t.Fatalf("%s: instance actor id %q, preferredUsername %q, url %v", c.host, id, user, actor["url"])
		}
		// What GoToSocial does: preferredUsername@host-of-id, by WebFinger.
		for _, resource := range []string{"acct:" + user + "@" + c.actorHost, user + "@" + c.actorHost,
			"acct:" + strings.ToUpper(user) + "@" + c.actorHost, id} {
			resp := w.get(t, c.host, "/.well-known/webfinger?resource="+url.QueryEscape(resource))
			if ct := resp.Header.Get("Content-Type"); ct != "application/jrd+json" {
				t.Errorf("%s %s: content type %q", c.host, resource, ct)
			}
			jrd := decode(t, resp, 200)
			got := links(t, jrd)
			if jrd["subject"] != "acct:"+c.actorHost+"@"+c.actorHost || got["self"] != id ||
				got["http://webfinger.net/rel/profile-page"] != "https://"+c.actorHost {
				t.Errorf("%s %s: JRD %v", c.host, resource, jrd)
			}
		}
	}
	// The handle domain's own name answers too (Mastodon-style lookups of
	// acct:<domain>@<domain>), still naming the one instance actor.
	jrd := decode(t, w.get(t, "b.example", "/.well-known/webfinger?resource=acct:b.example@b.example"), 200)
	if links(t, jrd)["self"] != "https://social.b.example/actor" {
		t.Errorf("acct:b.example@b.example: %v", jrd)
	}
	// Another tenant's instance actor is not ours to answer for, and a
	// host name as user on the wrong domain is no account.
	for _, c := range [][2]string{
		{"a.example", "acct:b.example@b.example"},
		{"a.example", "acct:social.b.example@social.b.example"},
		{"a.example", "acct:b.example@a.example"},
		{"a.example", "https://b.example/actor"},
		{"b.example", "acct:a.example@a.example"},
	} {
		wantError(t, w.get(t, c[0], "/.well-known/webfinger?resource="+url.QueryEscape(c[1])), 404)
	}
	// People are still found beside it.
	jrd = decode(t, w.get(t, "a.example", "/.well-known/webfinger?resource=acct:alice@a.example"), 200)
	if links(t, jrd)["self"] != "https://a.example/users/alice" {
		t.Errorf("alice: %v", jrd)
	}
}
