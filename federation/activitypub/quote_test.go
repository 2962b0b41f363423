package activitypub_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// TestIssue17PostQuoteReadsEverySpelling: Misskey's quote (a real note)
// and FEP-044f's quote with its stamp, preferred over the older names.
func TestIssue17PostQuoteReadsEverySpelling(t *testing.T) {
	quoted, stamp := ap.PostQuote(readFixture(t, "misskey/note-quote.json"))
	if quoted != "https://example.com/objects/43479e20-c0f8-4f49-bf7f-13fab8234924" || stamp != "" {
		t.Fatalf("misskey quote: %q %q", quoted, stamp)
	}
	doc := `{"id":"https://m.example/s/2","type":"Note","quote":"https://o.example/s/1","quoteUri":"https://x.example/old",
		"quoteAuthorization":"https://o.example/users/a/quote_authorizations/9"}`
	if q, s := ap.PostQuote([]byte(doc)); q != "https://o.example/s/1" || s != "https://o.example/users/a/quote_authorizations/9" {
		t.Fatalf("FEP-044f quote: %q %q", q, s)
	}
	if q, _ := ap.PostQuote([]byte(`{"quote":"javascript:alert(1)"}`)); q != "" {
		t.Fatalf("a non-URL quote was read: %q", q)
	}
}

// TestIssue17QuotePolicyRoundTrip: what NewNote says of a policy reads
// back as the same policy; lists of accounts are unknown.
func TestIssue17QuotePolicyRoundTrip(t *testing.T) {
	const actor = "https://a.example/users/alice"
	for _, p := range []federation.QuotePolicy{federation.QuotePublic, federation.QuoteFollowers, federation.QuoteNobody} {
		b, _ := json.Marshal(ap.NewNote(&federation.Status{URI: actor + "/statuses/1", QuotePolicy: p}, actor, ""))
		if got := ap.QuotePolicyOf(b, actor, actor+"/followers"); got != p {
			t.Errorf("%s read back as %q: %s", p, got, b)
		}
	}
	list := `{"interactionPolicy":{"canQuote":{"automaticApproval":["https://x.example/users/bob"]}}}`
	if got := ap.QuotePolicyOf([]byte(list), actor, ""); got != "" {
		t.Errorf("a list of accounts: %q", got)
	}
	b, _ := json.Marshal(ap.NewNote(&federation.Status{URI: actor + "/statuses/1"}, actor, ""))
	if strings.Contains(string(b), "interactionPolicy") {
		t.Errorf("an unknown policy was stated: %s", b)
	}
}

// TestIssue17ParseQuoteAuthorization: a stamp's id and author share a host.
func TestIssue17ParseQuoteAuthorization(t *testing.T) {
	good, _ := json.Marshal(ap.NewQuoteAuthorization("https://a.example/users/alice/quote_authorizations/1",
		"https://a.example/users/alice", "https://b.example/s/2", "https://a.example/users/alice/statuses/1"))
	s, err := ap.ParseQuoteAuthorization(good)
	if err != nil || s.InteractingObject != "https://b.example/s/2" || s.InteractionTarget != "https://a.example/users/alice/statuses/1" {
		t.Fatalf("stamp: %v %+v", err, s)
	}
	forged := strings.Replace(string(good), `"attributedTo":"https://a.example`, `"attributedTo":"https://evil.example`, 1)
	if _, err := ap.ParseQuoteAuthorization([]byte(forged)); err == nil {
		t.Fatal("a stamp attributed to another host was accepted")
	}
	if _, err := ap.ParseQuoteAuthorization([]byte(`{"type":"Note","id":"https://a.example/1"}`)); err == nil {
		t.Fatal("a Note was read as a stamp")
	}
}
