package activitypub_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

func TestParseResource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want activitypub.Resource
	}{
		{"acct:alice@example.com", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"alice@example.com", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"@alice@example.com", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"acct:@alice@example.com", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"acct:Alice@Example.COM", activitypub.Resource{Username: "Alice", Host: "Example.COM"}},
		{"acct:alice@example.com:8443", activitypub.Resource{Username: "alice", Host: "example.com:8443"}},
		{"https://example.com/users/alice", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"https://example.com/@alice", activitypub.Resource{Username: "alice", Host: "example.com"}},
		{"http://example.com:8080/users/u", activitypub.Resource{Username: "u", Host: "example.com:8080"}},
		{"http://localhost:3000/@bob_1", activitypub.Resource{Username: "bob_1", Host: "localhost:3000"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := activitypub.ParseResource(tt.in)
			if err != nil {
				t.Fatalf("ParseResource(%q) error = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseResource(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseResourceRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want errs.Code
	}{
		{"empty", "", errs.Invalid},
		// CVE-2023-42451: a host with a path must not be read as a domain.
		{"slash in host", "acct:user@mastodon.so/cial", errs.Invalid},
		{"slash in bare host", "user@mastodon.so/cial", errs.Invalid},
		{"missing @", "acct:alice", errs.Invalid},
		{"bare word", "alice", errs.Invalid},
		{"empty user", "acct:@example.com", errs.Invalid},
		{"empty host", "acct:alice@", errs.Invalid},
		{"only acct:", "acct:", errs.Invalid},
		{"only @", "@", errs.Invalid},
		{"two @ in host", "acct:alice@evil.example@example.com", errs.Invalid},
		{"query in acct host", "acct:alice@example.com?x=1", errs.Invalid},
		{"fragment in acct host", "acct:alice@example.com#x", errs.Invalid},
		{"backslash in acct host", `acct:alice@example.com\evil`, errs.Invalid},
		{"space in acct host", "acct:alice@example .com", errs.Invalid},
		{"URL with query", "https://example.com/users/alice?x=1", errs.Invalid},
		{"URL with fragment", "https://example.com/users/alice#main-key", errs.Invalid},
		{"URL with userinfo", "https://bob@example.com/users/alice", errs.Invalid},
		{"URL with user and password", "https://bob:pw@example.com/@alice", errs.Invalid},
		{"URL without host", "https:///users/alice", errs.Invalid},
		{"URL with bad escape", "https://example.com/users/%zz", errs.Invalid},
		{"URL with other path", "https://example.com/about", errs.NotFound},
		{"URL with root path", "https://example.com/", errs.NotFound},
		{"URL with no path", "https://example.com", errs.NotFound},
		{"URL with nested actor path", "https://example.com/users/alice/statuses/1", errs.NotFound},
		{"URL with trailing slash", "https://example.com/users/alice/", errs.NotFound},
		{"URL with empty user", "https://example.com/users/", errs.NotFound},
		{"URL with empty profile", "https://example.com/@", errs.NotFound},
		{"URL with users prefix only", "https://example.com/usersalice", errs.NotFound},
		{"too long acct", "acct:" + strings.Repeat("a", 500) + "@example.com", errs.Invalid},
		{"too long URL", "https://example.com/users/" + strings.Repeat("a", 500), errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := activitypub.ParseResource(tt.in)
			if err == nil {
				t.Fatalf("ParseResource(%q) = %+v, want a %s error", tt.in, got, tt.want)
			}
			if code := errs.CodeOf(err); code != tt.want {
				t.Errorf("ParseResource(%q) error code = %s, want %s (err %v)", tt.in, code, tt.want, err)
			}
			if got != (activitypub.Resource{}) {
				t.Errorf("ParseResource(%q) returned %+v with an error", tt.in, got)
			}
		})
	}
}

func TestParseResourceLengthLimit(t *testing.T) {
	t.Parallel()
	// Exactly 512 bytes is accepted; 513 is not.
	host := "example.com"
	user := strings.Repeat("a", 512-len("acct:@")-len(host))
	ok := "acct:" + user + "@" + host
	if len(ok) != 512 {
		t.Fatalf("test setup: len = %d", len(ok))
	}
	if r, err := activitypub.ParseResource(ok); err != nil || r.Username != user || r.Host != host {
		t.Errorf("ParseResource(512 bytes) = %+v, %v; want it accepted", r, err)
	}
	tooLong := "acct:a" + user + "@" + host
	if _, err := activitypub.ParseResource(tooLong); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("ParseResource(513 bytes) error = %v, want %s", err, errs.Invalid)
	}
}

func FuzzParseResource(f *testing.F) {
	for _, s := range []string{
		"acct:alice@example.com", "alice@example.com", "@alice@example.com",
		"https://example.com/users/alice", "https://example.com/@alice",
		"http://example.com:8080/users/u", "acct:user@mastodon.so/cial",
		"https://bob@example.com/users/alice", "https://example.com/users/alice?x#y",
		"acct:@", "https://[::1]:80/@a", "http://a%41b/users/x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := activitypub.ParseResource(s)
		if err != nil {
			if c := errs.CodeOf(err); c != errs.Invalid && c != errs.NotFound {
				t.Errorf("ParseResource(%q) error code = %s (%v), want invalid or not_found", s, c, err)
			}
			return
		}
		if r.Username == "" || r.Host == "" {
			t.Errorf("ParseResource(%q) = %+v with an empty part", s, r)
		}
		if strings.ContainsAny(r.Host, "/@?#") {
			t.Errorf("ParseResource(%q) host %q contains a URL delimiter", s, r.Host)
		}
		if len(s) > 512 {
			t.Errorf("ParseResource accepted a %d-byte resource", len(s))
		}
	})
}

func TestNewJRD(t *testing.T) {
	t.Parallel()
	a := &federation.Account{Domain: "alice.example", Username: "alice"}
	links := federation.NewLinks("https", "social.alice.example", 0)
	m := roundTrip(t, activitypub.NewJRD(a, links))

	// The subject names the handle domain, not the service domain the
	// links point at.
	if got := str(t, m, "subject"); got != "acct:alice@alice.example" {
		t.Errorf("subject = %q, want acct:alice@alice.example", got)
	}

	aliases, ok := m["aliases"].([]any)
	if !ok {
		t.Fatalf("aliases is %s, want array", jsonKind(m["aliases"]))
	}
	wantAliases := []any{"https://social.alice.example/@alice", "https://social.alice.example/users/alice"}
	if len(aliases) != len(wantAliases) {
		t.Fatalf("aliases = %v, want %v", aliases, wantAliases)
	}
	for i := range wantAliases {
		if aliases[i] != wantAliases[i] {
			t.Errorf("aliases[%d] = %v, want %v", i, aliases[i], wantAliases[i])
		}
	}

	ls, ok := m["links"].([]any)
	if !ok {
		t.Fatalf("links is %s, want array", jsonKind(m["links"]))
	}
	var self, profile map[string]any
	for _, l := range ls {
		lm, ok := l.(map[string]any)
		if !ok {
			t.Fatalf("link %v is not an object", l)
		}
		if _, ok := lm["template"]; ok {
			t.Errorf("link %v has an empty-looking template key; want it omitted", lm)
		}
		switch lm["rel"] {
		case "self":
			if self != nil {
				t.Error("more than one self link")
			}
			self = lm
		case "http://webfinger.net/rel/profile-page":
			profile = lm
		}
	}
	if self == nil {
		t.Fatalf("no self link in %v", ls)
	}
	if got := str(t, self, "type"); got != "application/activity+json" {
		t.Errorf("self link type = %q, want application/activity+json", got)
	}
	if got := str(t, self, "href"); got != "https://social.alice.example/users/alice" {
		t.Errorf("self link href = %q, want the actor id", got)
	}
	if got := str(t, self, "href"); got != links.Actor("alice") {
		t.Errorf("self link href = %q, want links.Actor = %q", got, links.Actor("alice"))
	}
	if profile == nil {
		t.Fatalf("no profile-page link in %v", ls)
	}
	if got := str(t, profile, "type"); got != "text/html" {
		t.Errorf("profile-page type = %q, want text/html", got)
	}
	if got := str(t, profile, "href"); got != "https://social.alice.example/@alice" {
		t.Errorf("profile-page href = %q", got)
	}
}

func TestNewJRDSameDomain(t *testing.T) {
	t.Parallel()
	a := &federation.Account{Domain: "example.com", Username: "Bob"}
	jrd := activitypub.NewJRD(a, federation.NewLinks("https", "example.com", 0))
	if jrd.Subject != "acct:Bob@example.com" {
		t.Errorf("Subject = %q, want acct:Bob@example.com", jrd.Subject)
	}
	// The subject round-trips through ParseResource to the same account.
	r, err := activitypub.ParseResource(jrd.Subject)
	if err != nil {
		t.Fatal(err)
	}
	if r.Username != a.Username || r.Host != a.Domain {
		t.Errorf("ParseResource(subject) = %+v, want %s@%s", r, a.Username, a.Domain)
	}
	// So does every alias.
	for _, alias := range jrd.Aliases {
		r, err := activitypub.ParseResource(alias)
		if err != nil {
			t.Errorf("ParseResource(alias %q) = %v", alias, err)
			continue
		}
		if r.Username != a.Username || r.Host != "example.com" {
			t.Errorf("ParseResource(alias %q) = %+v", alias, r)
		}
	}
}

// TestJRDDecodesMastodonWebFinger checks that our JRD type reads a real
// Mastodon WebFinger response and that Mastodon's document has our shape.
func TestJRDDecodesMastodonWebFinger(t *testing.T) {
	t.Parallel()
	raw := readFixture(t, "mastodon/http-response-webfinger.txt")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("read HTTP response: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, activitypub.JRDContentType) {
		t.Errorf("fixture Content-Type = %q, want %s (the type we serve)", ct, activitypub.JRDContentType)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	var jrd activitypub.JRD
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&jrd); err != nil {
		t.Fatalf("decode JRD: %v", err)
	}
	if jrd.Subject != "acct:foo@ap.example.com" {
		t.Errorf("Subject = %q, want acct:foo@ap.example.com", jrd.Subject)
	}
	wantAliases := []string{"https://ap.example.com/@foo", "https://ap.example.com/users/foo"}
	if strings.Join(jrd.Aliases, " ") != strings.Join(wantAliases, " ") {
		t.Errorf("Aliases = %v, want %v", jrd.Aliases, wantAliases)
	}
	var self *activitypub.Link
	for i, l := range jrd.Links {
		if l.Rel == "self" {
			self = &jrd.Links[i]
		}
	}
	if self == nil {
		t.Fatalf("no self link in %+v", jrd.Links)
	}
	if self.Type != activitypub.ContentType || self.Href != "https://ap.example.com/users/foo" {
		t.Errorf("self link = %+v", *self)
	}
	var haveTemplate bool
	for _, l := range jrd.Links {
		if l.Rel == "http://ostatus.org/schema/1.0/subscribe" {
			haveTemplate = l.Template == "https://ap.example.com/authorize_follow?acct={uri}"
		}
	}
	if !haveTemplate {
		t.Error("subscribe link template not decoded into Link.Template")
	}

	// The subject parses with ParseResource, as a remote server's query
	// for it would.
	r, err := activitypub.ParseResource(jrd.Subject)
	if err != nil || r != (activitypub.Resource{Username: "foo", Host: "ap.example.com"}) {
		t.Errorf("ParseResource(%q) = %+v, %v", jrd.Subject, r, err)
	}

	// Given the same account and links, our document equals Mastodon's in
	// subject, aliases, and the profile-page and self links.
	ours := activitypub.NewJRD(&federation.Account{Domain: "ap.example.com", Username: "foo"},
		federation.NewLinks("https", "ap.example.com", 0))
	if ours.Subject != jrd.Subject {
		t.Errorf("our subject %q, Mastodon's %q", ours.Subject, jrd.Subject)
	}
	if strings.Join(ours.Aliases, " ") != strings.Join(jrd.Aliases, " ") {
		t.Errorf("our aliases %v, Mastodon's %v", ours.Aliases, jrd.Aliases)
	}
	theirs := map[string]activitypub.Link{}
	for _, l := range jrd.Links {
		theirs[l.Rel] = l
	}
	for _, l := range ours.Links {
		if theirs[l.Rel] != l {
			t.Errorf("our %s link %+v, Mastodon's %+v", l.Rel, l, theirs[l.Rel])
		}
	}
}

func TestJRDDecodesPleromaWebFinger(t *testing.T) {
	t.Parallel()
	var jrd activitypub.JRD
	if err := json.Unmarshal(readFixture(t, "pleroma/webfinger-templated.json"), &jrd); err != nil {
		t.Fatalf("decode Pleroma JRD: %v", err)
	}
	var selfTypes []string
	for _, l := range jrd.Links {
		if l.Rel == "self" {
			selfTypes = append(selfTypes, l.Type)
		}
	}
	// Pleroma advertises two self links; one is ours.
	if len(selfTypes) != 2 {
		t.Errorf("decoded %d self links, want Pleroma's 2", len(selfTypes))
	}
	var found bool
	for _, ty := range selfTypes {
		found = found || ty == activitypub.ContentType
	}
	if !found {
		t.Errorf("self link types %v lack %s", selfTypes, activitypub.ContentType)
	}
	if !strings.HasPrefix(jrd.Subject, "acct:") {
		t.Errorf("Subject = %q, want an acct: URI", jrd.Subject)
	}
}
