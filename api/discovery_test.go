package api_test

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestActorContentNegotiation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, accept := range []string{"application/activity+json", asAccept, "application/ld+json"} {
		resp := w.get(t, "a.example", "/users/alice", "Accept", accept)
		if ct := resp.Header.Get("Content-Type"); ct != "application/activity+json" {
			t.Errorf("Accept %q: content type %q", accept, ct)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept") {
			t.Errorf("Accept %q: no Vary: Accept", accept)
		}
		m := decode(t, resp, 200)
		for _, k := range []string{"@context", "id", "type", "preferredUsername", "name", "summary", "url", "inbox", "outbox",
			"followers", "following", "featured", "endpoints", "publicKey", "manuallyApprovesFollowers", "discoverable", "published"} {
			if _, ok := m[k]; !ok {
				t.Errorf("actor lacks %q", k)
			}
		}
		if m["type"] != "Person" || m["preferredUsername"] != "alice" || m["url"] != "https://a.example/@alice" {
			t.Errorf("actor: type %v, preferredUsername %v, url %v", m["type"], m["preferredUsername"], m["url"])
		}
		if m["endpoints"].(map[string]any)["sharedInbox"] != "https://a.example/inbox" {
			t.Errorf("sharedInbox %v", m["endpoints"])
		}
		pk := m["publicKey"].(map[string]any)
		if pk["id"] != "https://a.example/users/alice#main-key" || pk["owner"] != "https://a.example/users/alice" {
			t.Errorf("publicKey %v", pk)
		}
	}
	for _, path := range []string{"/users/alice", "/@alice", "/@ALICE"} {
		resp := w.get(t, "a.example", path, "Accept", "text/html,application/xhtml+xml")
		body := readAll(t, resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: status %d, type %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(body, "alice of a.example") || !strings.Contains(body, "@alice@a.example") ||
			!strings.Contains(body, `href="https://a.example/users/alice"`) {
			t.Errorf("%s: profile page lacks name, handle or actor link:\n%s", path, body)
		}
	}
}

func TestHostMetaAndNodeInfoDiscovery(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	resp := w.get(t, "social.b.example", "/.well-known/host-meta")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xrd+xml") {
		t.Fatalf("host-meta content type %q", resp.Header.Get("Content-Type"))
	}
	var xrd struct {
		Links []struct {
			Rel      string `xml:"rel,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Link"`
	}
	if err := xml.Unmarshal([]byte(readAll(t, resp.Body)), &xrd); err != nil {
		t.Fatal(err)
	}
	if len(xrd.Links) != 1 || xrd.Links[0].Rel != "lrdd" ||
		xrd.Links[0].Template != "https://social.b.example/.well-known/webfinger?resource={uri}" {
		t.Fatalf("host-meta links %+v", xrd.Links)
	}
	for _, target := range []string{"/.well-known/host-meta.json", "/.well-known/host-meta?format=json"} {
		m := decode(t, w.get(t, "social.b.example", target), 200)
		l := m["links"].([]any)[0].(map[string]any)
		if l["template"] != "https://social.b.example/.well-known/webfinger?resource={uri}" {
			t.Fatalf("%s: %v", target, m)
		}
	}

	m := decode(t, w.get(t, "a.example", "/.well-known/nodeinfo"), 200)
	got := links(t, m)
	if got["http://nodeinfo.diaspora.software/ns/schema/2.0"] != "https://a.example/nodeinfo/2.0" ||
		got["http://nodeinfo.diaspora.software/ns/schema/2.1"] != "https://a.example/nodeinfo/2.1" {
		t.Fatalf("nodeinfo links %v", got)
	}
	resp = w.get(t, "a.example", "/nodeinfo/2.1")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "schema/2.1#") {
		t.Errorf("nodeinfo 2.1 content type %q", ct)
	}
	n := decode(t, resp, 200)
	if n["version"] != "2.1" || n["software"].(map[string]any)["name"] != "roost" {
		t.Fatalf("nodeinfo %v", n)
	}
	wantError(t, w.get(t, "a.example", "/nodeinfo/2.2"), 404)
}
