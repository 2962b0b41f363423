package activitypub_test

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/activitypub"
)

const (
	testPublicPEM  = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest\n-----END PUBLIC KEY-----\n"
	testPrivatePEM = "-----BEGIN RSA PRIVATE KEY-----\nSECRETSECRETSECRET\n-----END RSA PRIVATE KEY-----\n"
)

// testAccount is @alice@alice.example, whose actors live on the service
// domain social.alice.example.
func testAccount() *federation.Account {
	return &federation.Account{
		ID:            7,
		TenantID:      3,
		Domain:        "alice.example",
		Username:      "alice",
		DisplayName:   "Alice Liddell",
		Note:          "Down the rabbit hole.",
		Locked:        true,
		Discoverable:  true,
		PublicKeyPEM:  testPublicPEM,
		PrivateKeyPEM: testPrivatePEM,
		// 20:15 at UTC-8 is 04:15 UTC the next day.
		CreatedAt: time.Date(2024, 3, 5, 20, 15, 42, 123456789, time.FixedZone("PST", -8*3600)),
	}
}

var testLinks = federation.NewLinks("https", "social.alice.example", 0)

func actorJSON(t *testing.T, a *federation.Account) (map[string]any, []byte) {
	t.Helper()
	b, err := json.Marshal(activitypub.NewActor(a, testLinks))
	if err != nil {
		t.Fatal(err)
	}
	return decodeMap(t, b), b
}

func TestNewActorDocument(t *testing.T) {
	t.Parallel()
	m, raw := actorJSON(t, testAccount())
	base := "https://social.alice.example"
	id := base + "/users/alice"

	wantStrings := map[string]string{
		"id":                id,
		"type":              "Person",
		"preferredUsername": "alice",
		"name":              "Alice Liddell",
		"summary":           "<p>Down the rabbit hole.</p>",
		"url":               base + "/@alice",
		"inbox":             id + "/inbox",
		"outbox":            id + "/outbox",
		"followers":         id + "/followers",
		"following":         id + "/following",
		"featured":          id + "/collections/featured",
	}
	for k, want := range wantStrings {
		if got := str(t, m, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	if !boolean(t, m, "manuallyApprovesFollowers") {
		t.Error("manuallyApprovesFollowers = false for a locked account")
	}
	if !boolean(t, m, "discoverable") {
		t.Error("discoverable = false for a discoverable account")
	}

	ep := obj(t, m, "endpoints")
	if got := str(t, ep, "sharedInbox"); got != base+"/inbox" {
		t.Errorf("endpoints.sharedInbox = %q, want %q", got, base+"/inbox")
	}

	pk := obj(t, m, "publicKey")
	if got := str(t, pk, "id"); got != id+"#main-key" {
		t.Errorf("publicKey.id = %q, want %q", got, id+"#main-key")
	}
	if got := str(t, pk, "owner"); got != id {
		t.Errorf("publicKey.owner = %q, want the actor id %q", got, id)
	}
	if got := str(t, pk, "publicKeyPem"); got != testPublicPEM {
		t.Errorf("publicKey.publicKeyPem = %q, want %q", got, testPublicPEM)
	}
	if !strings.HasPrefix(str(t, pk, "id"), str(t, m, "id")+"#") {
		t.Error("publicKey.id is not a fragment of the actor id")
	}

	// The private key is never rendered, under any name.
	if strings.Contains(string(raw), "SECRETSECRETSECRET") || strings.Contains(string(raw), "PRIVATE KEY") {
		t.Errorf("actor document leaks the private key: %s", raw)
	}

	// No avatar or header: no icon or image keys at all (not null).
	for _, k := range []string{"icon", "image"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %v, want the key omitted when unset", k, v)
		}
	}
}

func TestNewActorContext(t *testing.T) {
	t.Parallel()
	m, _ := actorJSON(t, testAccount())
	ctx, ok := m["@context"].([]any)
	if !ok {
		t.Fatalf("@context is %s, want array", jsonKind(m["@context"]))
	}
	if len(ctx) == 0 || ctx[0] != "https://www.w3.org/ns/activitystreams" {
		t.Errorf("@context[0] = %v, want the ActivityStreams context first", ctx)
	}
	var haveSecurity bool
	terms := map[string]any{}
	for _, c := range ctx {
		switch c := c.(type) {
		case string:
			if c == "https://w3id.org/security/v1" {
				haveSecurity = true
			}
		case map[string]any:
			for k, v := range c {
				terms[k] = v
			}
		}
	}
	if !haveSecurity {
		t.Errorf("@context %v lacks https://w3id.org/security/v1 (needed for publicKey)", ctx)
	}
	// Every extension term the actor uses must be defined in the context,
	// or JSON-LD processors drop it.
	want := map[string]any{
		"toot":                      "http://joinmastodon.org/ns#",
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"discoverable":              "toot:discoverable",
		"featured":                  map[string]any{"@id": "toot:featured", "@type": "@id"},
	}
	for k, w := range want {
		if got := terms[k]; !reflect.DeepEqual(got, w) {
			t.Errorf("@context term %q = %v, want %v", k, got, w)
		}
	}
}

func TestNewActorBotIsService(t *testing.T) {
	t.Parallel()
	a := testAccount()
	a.Bot = true
	m, _ := actorJSON(t, a)
	if got := str(t, m, "type"); got != "Service" {
		t.Errorf("type = %q for a bot, want Service", got)
	}
	a.Bot = false
	m, _ = actorJSON(t, a)
	if got := str(t, m, "type"); got != "Person" {
		t.Errorf("type = %q for a non-bot, want Person", got)
	}
}

func TestNewActorFlagsFalse(t *testing.T) {
	t.Parallel()
	a := testAccount()
	a.Locked, a.Discoverable = false, false
	m, _ := actorJSON(t, a)
	// false must be emitted, not omitted: Mastodon reads a missing
	// discoverable as unknown, not as false.
	if boolean(t, m, "manuallyApprovesFollowers") {
		t.Error("manuallyApprovesFollowers = true for an unlocked account")
	}
	if boolean(t, m, "discoverable") {
		t.Error("discoverable = true for an undiscoverable account")
	}
}

func TestNewActorPublished(t *testing.T) {
	t.Parallel()
	m, _ := actorJSON(t, testAccount())
	s := str(t, m, "published")
	p, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("published %q is not RFC 3339: %v", s, err)
	}
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("published %q is not in UTC", s)
	}
	// Like Mastodon, only the day (in UTC) is published.
	if want := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC); !p.Equal(want) {
		t.Errorf("published = %s, want %s (the UTC day of the creation time)", p, want)
	}
	if s != "2024-03-06T00:00:00Z" {
		t.Errorf("published = %q, want %q", s, "2024-03-06T00:00:00Z")
	}
}

func TestNewActorUsesServiceDomainLinks(t *testing.T) {
	t.Parallel()
	// The handle domain (alice.example) is for WebFinger only; every URL in
	// the actor uses the links' host.
	m, raw := actorJSON(t, testAccount())
	for _, k := range []string{"id", "url", "inbox", "outbox", "followers", "following", "featured"} {
		if v := str(t, m, k); !strings.HasPrefix(v, "https://social.alice.example/") {
			t.Errorf("%s = %q, want it on the links' host", k, v)
		}
	}
	if strings.Contains(string(raw), "://alice.example") {
		t.Errorf("actor has a URL on the handle domain: %s", raw)
	}
}

func TestNewActorIcon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url           string
		wantMediaType string // "" means the key is omitted
	}{
		{"https://cdn.example/avatars/a.png", "image/png"},
		{"https://cdn.example/avatars/a.PNG", "image/png"},
		{"https://cdn.example/avatars/a.jpg", "image/jpeg"},
		{"https://cdn.example/avatars/a.jpeg", "image/jpeg"},
		{"https://cdn.example/avatars/a.JPEG", "image/jpeg"},
		{"https://cdn.example/avatars/a.gif", "image/gif"},
		{"https://cdn.example/avatars/a.webp", "image/webp"},
		{"https://cdn.example/avatars/a.avif", "image/avif"},
		{"https://cdn.example/avatars/a.bmp", ""},
		{"https://cdn.example/avatars/a", ""},
		{"https://cdn.example/avatars.png/a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			a := testAccount()
			a.AvatarURL = tt.url
			m, _ := actorJSON(t, a)
			icon := obj(t, m, "icon")
			if got := str(t, icon, "type"); got != "Image" {
				t.Errorf("icon.type = %q, want Image", got)
			}
			if got := str(t, icon, "url"); got != tt.url {
				t.Errorf("icon.url = %q, want %q", got, tt.url)
			}
			mt, ok := icon["mediaType"]
			switch {
			case tt.wantMediaType == "" && ok:
				t.Errorf("icon.mediaType = %v, want it omitted for an unknown extension", mt)
			case tt.wantMediaType != "" && mt != tt.wantMediaType:
				t.Errorf("icon.mediaType = %v, want %q", mt, tt.wantMediaType)
			}
			if _, ok := m["image"]; ok {
				t.Error("image present though only an avatar is set")
			}
		})
	}
}

func TestNewActorHeaderImage(t *testing.T) {
	t.Parallel()
	a := testAccount()
	a.HeaderURL = "https://cdn.example/headers/h.webp"
	m, _ := actorJSON(t, a)
	img := obj(t, m, "image")
	if got := str(t, img, "type"); got != "Image" {
		t.Errorf("image.type = %q, want Image", got)
	}
	if got := str(t, img, "url"); got != a.HeaderURL {
		t.Errorf("image.url = %q, want %q", got, a.HeaderURL)
	}
	if got := str(t, img, "mediaType"); got != "image/webp" {
		t.Errorf("image.mediaType = %q, want image/webp", got)
	}
	if _, ok := m["icon"]; ok {
		t.Error("icon present though only a header is set")
	}
}

func TestNewActorSummaryEscapes(t *testing.T) {
	t.Parallel()
	a := testAccount()
	a.Note = "<script>alert('x')</script>\n\nSecond & last"
	m, _ := actorJSON(t, a)
	got := str(t, m, "summary")
	want := "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p><p>Second &amp; last</p>"
	if got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if strings.Contains(got, "<script") {
		t.Errorf("summary %q contains a live script tag", got)
	}
}

func TestNewActorEmptyNote(t *testing.T) {
	t.Parallel()
	a := testAccount()
	a.Note = ""
	m, _ := actorJSON(t, a)
	// Present as "" (as Mastodon emits), not null or missing.
	if got := str(t, m, "summary"); got != "" {
		t.Errorf("summary = %q for an empty note, want \"\"", got)
	}
}

func TestTextToHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only whitespace", "  \n\n \t\n", ""},
		{"one line", "hello", "<p>hello</p>"},
		{"surrounding space trimmed", "  hello  \n", "<p>hello</p>"},
		{"newline becomes br", "a\nb", "<p>a<br>b</p>"},
		{"blank line splits paragraphs", "a\n\nb", "<p>a</p><p>b</p>"},
		{"several blank lines are one break", "a\n\n\n\nb", "<p>a</p><p>b</p>"},
		{"mixed", "one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"},
		{"CRLF", "a\r\nb\r\n\r\nc", "<p>a<br>b</p><p>c</p>"},
		{"script escaped", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"quotes and ampersand", `Tom & "Jerry" 'n'`, "<p>Tom &amp; &#34;Jerry&#34; &#39;n&#39;</p>"},
		{"html entity text is escaped, not passed", "&lt;b&gt;", "<p>&amp;lt;b&amp;gt;</p>"},
		{"attribute injection", `"><img src=x onerror=alert(1)>`, "<p>&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</p>"},
		{"unicode kept", "héllo 🐦", "<p>héllo 🐦</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := activitypub.TextToHTML(tt.in); got != tt.want {
				t.Errorf("TextToHTML(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzTextToHTML(f *testing.F) {
	for _, s := range []string{"", "a\n\nb", "<script>", "a\r\n\r\nb", "&amp;", "\n\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := activitypub.TextToHTML(s)
		// The only tags in the output are ours.
		rest := strings.NewReplacer("<p>", "", "</p>", "", "<br>", "").Replace(out)
		if strings.ContainsAny(rest, "<>\"'") {
			t.Errorf("TextToHTML(%q) = %q has unescaped markup", s, out)
		}
		if strings.Count(out, "<p>") != strings.Count(out, "</p>") {
			t.Errorf("TextToHTML(%q) = %q has unbalanced paragraphs", s, out)
		}
	})
}

// TestActorShapeMatchesMastodon checks our actor against a real Mastodon 4
// Person: every top-level key both emit has the same JSON type, the URL
// shapes are Mastodon's, and the context terms we share agree.
func TestActorShapeMatchesMastodon(t *testing.T) {
	t.Parallel()
	masto := decodeMap(t, readFixture(t, "mastodon/actor-person.json"))

	a := testAccount()
	a.AvatarURL = "https://cdn.example/a.png"
	a.HeaderURL = "https://cdn.example/h.png"
	ours, _ := actorJSON(t, a)

	var shared, onlyOurs []string
	for k, v := range ours {
		mv, ok := masto[k]
		if !ok {
			onlyOurs = append(onlyOurs, k)
			continue
		}
		shared = append(shared, k)
		if jsonKind(v) != jsonKind(mv) {
			t.Errorf("%s: ours is %s, Mastodon's is %s", k, jsonKind(v), jsonKind(mv))
		}
		// One level down, too (publicKey, endpoints, icon).
		if o, ok := v.(map[string]any); ok {
			mo := mv.(map[string]any)
			for nk, nv := range o {
				if mnv, ok := mo[nk]; ok && jsonKind(nv) != jsonKind(mnv) {
					t.Errorf("%s.%s: ours is %s, Mastodon's is %s", k, nk, jsonKind(nv), jsonKind(mnv))
				} else if !ok {
					t.Errorf("%s.%s: Mastodon has no such key (misspelt?)", k, nk)
				}
			}
		}
	}
	sort.Strings(onlyOurs)
	// The fixture account has no header; any other key of ours that
	// Mastodon lacks is likely misspelt.
	if !reflect.DeepEqual(onlyOurs, []string{"image"}) {
		t.Errorf("keys Mastodon's actor lacks: %v, want only [image]", onlyOurs)
	}
	if len(shared) < 15 {
		t.Errorf("only %d keys shared with Mastodon's actor: %v", len(shared), shared)
	}

	// URL shapes: with base and username replaced by placeholders, ours
	// and Mastodon's agree.
	shape := func(m map[string]any, base, user string) map[string]string {
		pk := m["publicKey"].(map[string]any)
		ep := m["endpoints"].(map[string]any)
		vals := map[string]any{
			"id": m["id"], "url": m["url"], "inbox": m["inbox"], "outbox": m["outbox"],
			"followers": m["followers"], "following": m["following"], "featured": m["featured"],
			"publicKey.id": pk["id"], "publicKey.owner": pk["owner"], "endpoints.sharedInbox": ep["sharedInbox"],
		}
		out := map[string]string{}
		for k, v := range vals {
			s, _ := v.(string)
			s = strings.ReplaceAll(s, base, "{base}")
			out[k] = strings.ReplaceAll(s, user, "{user}")
		}
		return out
	}
	mShape := shape(masto, "https://masto.qa.urbanwildlife.biz", "mastodon")
	oShape := shape(ours, "https://social.alice.example", "alice")
	for k, want := range mShape {
		if oShape[k] != want {
			t.Errorf("%s shape = %q, Mastodon's is %q", k, oShape[k], want)
		}
	}

	// Both publish the day only.
	for _, m := range []map[string]any{masto, ours} {
		p, err := time.Parse(time.RFC3339, m["published"].(string))
		if err != nil {
			t.Errorf("published %v: %v", m["published"], err)
		} else if p.Hour() != 0 || p.Minute() != 0 || p.Second() != 0 {
			t.Errorf("published %v is not midnight", m["published"])
		}
	}

	// The context terms we define match Mastodon's definitions exactly.
	mctx := masto["@context"].([]any)
	octx := ours["@context"].([]any)
	if !reflect.DeepEqual(mctx[:2], octx[:2]) {
		t.Errorf("@context URLs = %v, Mastodon's = %v", octx[:2], mctx[:2])
	}
	mterms := mctx[2].(map[string]any)
	for k, v := range octx[2].(map[string]any) {
		if !reflect.DeepEqual(mterms[k], v) {
			t.Errorf("@context term %q = %v, Mastodon's = %v", k, v, mterms[k])
		}
	}
}
