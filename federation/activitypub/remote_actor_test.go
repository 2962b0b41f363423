package activitypub_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Every real actor document in the fixtures parses, with the fields we use.
func TestParseActorFixtures(t *testing.T) {
	dir := fixturesDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*", "actor-*.json"))
	if len(files) < 15 {
		t.Fatalf("found only %d actor fixtures", len(files))
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for _, f := range files {
		name, _ := filepath.Rel(dir, f)
		t.Run(name, func(t *testing.T) {
			doc := readFixture(t, filepath.ToSlash(name))
			a, err := ap.ParseActor(doc, now)
			if name == filepath.FromSlash("microblogpub/actor-person-invalid-alsoknownas.json") {
				// Its publicKey is missing: an actor we could never verify.
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("keyless actor: err %v, want invalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := a.Remote
			if a.TenantID != 0 || r == nil || r.URI == "" || r.Inbox == "" || a.Username == "" || a.Domain == "" {
				t.Fatalf("incomplete actor: %+v %+v", a, r)
			}
			if !strings.Contains(a.PublicKeyPEM, "PUBLIC KEY") || !ap.SameOrigin(r.KeyID, r.URI) {
				t.Fatalf("key %q (%s) for %s", r.KeyID, a.PublicKeyPEM[:min(30, len(a.PublicKeyPEM))], r.URI)
			}
			if !strings.Contains(r.URI, a.Domain) || !r.FetchedAt.Equal(now) {
				t.Fatalf("domain %s for %s, fetched %v", a.Domain, r.URI, r.FetchedAt)
			}
			if strings.Contains(a.Note, "<script") || strings.Contains(a.Note, "onerror") {
				t.Fatalf("unsanitised summary: %s", a.Note)
			}
		})
	}
}

func TestParseActorRefusesForeignOrMissingKeys(t *testing.T) {
	now := time.Now()
	for name, doc := range map[string]string{
		"key owned by another actor": `{"id":"https://a.example/u/x","type":"Person","preferredUsername":"x","inbox":"https://a.example/u/x/inbox",
			"publicKey":{"id":"https://a.example/u/y#k","owner":"https://a.example/u/y","publicKeyPem":"-----BEGIN PUBLIC KEY-----"}}`,
		"key on another host": `{"id":"https://a.example/u/x","type":"Person","preferredUsername":"x","inbox":"https://a.example/u/x/inbox",
			"publicKey":{"id":"https://b.example/u/x#k","owner":"https://a.example/u/x","publicKeyPem":"-----BEGIN PUBLIC KEY-----"}}`,
		"no inbox": `{"id":"https://a.example/u/x","type":"Person","preferredUsername":"x",
			"publicKey":{"id":"https://a.example/u/x#k","owner":"https://a.example/u/x","publicKeyPem":"-----BEGIN PUBLIC KEY-----"}}`,
		"not an actor": `{"id":"https://a.example/n/1","type":"Note","preferredUsername":"x","inbox":"https://a.example/i",
			"publicKey":{"id":"https://a.example/n/1#k","owner":"https://a.example/n/1","publicKeyPem":"-----BEGIN PUBLIC KEY-----"}}`,
		"relative id": `{"id":"/u/x","type":"Person"}`,
		"array":       `[]`,
	} {
		if _, err := ap.ParseActor([]byte(doc), now); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err %v, want invalid", name, err)
		}
	}
}

func TestSanitizeHTML(t *testing.T) {
	for in, want := range map[string]string{
		`<p>hi <script>alert(1)</script><img src=x onerror=alert(1)></p>`:                         `<p>hi </p>`,
		`<a href="javascript:alert(1)">x</a>`:                                                     `x`,
		`<span class="h-card"><a href="https://m.example/@a" class="u-url mention">@a</a></span>`: `<span class="h-card"><a href="https://m.example/@a" class="u-url mention" rel="nofollow noreferrer noopener" target="_blank">@a</a></span>`,
		`<p style="color:red" class="evil">x</p>`:                                                 `<p>x</p>`,
	} {
		if got := ap.SanitizeHTML(in); got != want {
			t.Errorf("SanitizeHTML(%q) =\n %q\nwant\n %q", in, got, want)
		}
	}
}
