package activitypub

import (
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Quote posts as FEP-044f defines them and Mastodon 4.5 sends them: a post
// names the post it quotes (quote, with Misskey's _misskey_quote and
// Fedibird's quoteUri for older servers) and, once the quoted author
// agreed, the QuoteAuthorization stamp that proves it; the quoted post's
// interactionPolicy.canQuote says who may quote it.

// quoteContext are the JSON-LD terms of quotes and interaction policies.
var quoteContext = map[string]any{
	"QuoteRequest":       "https://w3id.org/fep/044f#QuoteRequest",
	"QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
	"quote":              map[string]any{"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
	"quoteAuthorization": map[string]any{"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
	"quoteUri":           "http://fedibird.com/ns#quoteUri",
	"_misskey_quote":     "https://misskey-hub.net/ns#_misskey_quote",
	"gts":                "https://gotosocial.org/ns#",
	"interactionPolicy":  map[string]any{"@id": "gts:interactionPolicy", "@type": "@id"},
	"canQuote":           map[string]any{"@id": "gts:canQuote", "@type": "@id"},
	"automaticApproval":  map[string]any{"@id": "gts:automaticApproval", "@type": "@id"},
	"manualApproval":     map[string]any{"@id": "gts:manualApproval", "@type": "@id"},
	"interactingObject":  map[string]any{"@id": "gts:interactingObject", "@type": "@id"},
	"interactionTarget":  map[string]any{"@id": "gts:interactionTarget", "@type": "@id"},
}

// QuoteContext is the @context of quote activities and stamps.
var QuoteContext = []any{"https://www.w3.org/ns/activitystreams", quoteContext}

// InteractionPolicy is a post's interactionPolicy; only canQuote is sent.
type InteractionPolicy struct {
	CanQuote ApprovalRule `json:"canQuote"`
}

// ApprovalRule lists who is approved automatically or by hand.
type ApprovalRule struct {
	AutomaticApproval []string `json:"automaticApproval"`
	ManualApproval    []string `json:"manualApproval,omitempty"`
}

// addQuote puts a local status's quote and quote policy on its note.
func addQuote(n *Note, st *federation.Status, actorURI string) {
	if st.QuoteURI != "" {
		n.Quote, n.QuoteURI, n.MisskeyQuote = st.QuoteURI, st.QuoteURI, st.QuoteURI
		n.QuoteAuthorization = st.QuoteStamp
	}
	if st.QuotePolicy == "" {
		return // unknown: others read a missing policy as "only the author"
	}
	rule := ApprovalRule{AutomaticApproval: []string{actorURI}}
	switch st.QuotePolicy {
	case federation.QuotePublic:
		rule.AutomaticApproval = []string{federation.PublicCollection}
	case federation.QuoteFollowers:
		rule.AutomaticApproval = []string{actorURI + "/followers"}
	}
	n.InteractionPolicy = &InteractionPolicy{CanQuote: rule}
}

// NewQuoteRequest asks the author of object for leave to quote it with
// instrument (the quoting post, embedded so they need not fetch it).
func NewQuoteRequest(id, actor, object string, instrument any) map[string]any {
	return map[string]any{"@context": QuoteContext, "id": id, "type": "QuoteRequest", "actor": actor,
		"object": object, "instrument": instrument}
}

// NewQuoteAnswer accepts (with the stamp as result) or rejects a
// QuoteRequest, addressed to its sender.
func NewQuoteAnswer(accept bool, id, actor string, request map[string]any, stamp string) map[string]any {
	m := map[string]any{"@context": QuoteContext, "id": id, "type": "Reject", "actor": actor, "object": request,
		"to": []string{idOf(request["actor"])}}
	if accept {
		m["type"], m["result"] = "Accept", stamp
	}
	return m
}

// NewQuoteAuthorization is the stamp served at its id.
func NewQuoteAuthorization(id, author, quoting, quoted string) map[string]any {
	return map[string]any{"@context": QuoteContext, "id": id, "type": "QuoteAuthorization",
		"attributedTo": author, "interactingObject": quoting, "interactionTarget": quoted}
}

// NewStampDelete revokes a stamp.
func NewStampDelete(id, actor, stamp string, to []string) map[string]any {
	return map[string]any{"@context": QuoteContext, "id": id, "type": "Delete", "actor": actor, "object": stamp,
		"to": nonNilStrings(to)}
}

// PostQuote reads the post a document quotes (FEP-044f quote, else the
// older quoteUrl, quoteUri, _misskey_quote) and the stamp it holds.
func PostQuote(doc []byte) (quoted, stamp string) {
	m, err := decodeObject(doc)
	if err != nil {
		return "", ""
	}
	for _, k := range []string{"quote", "quoteUrl", "quoteUri", "_misskey_quote"} {
		if u := idOf(m[k]); absURL(u) != nil {
			quoted = u
			break
		}
	}
	if quoted == "" {
		return "", ""
	}
	if s := idOf(m["quoteAuthorization"]); absURL(s) != nil {
		stamp = s
	}
	return quoted, stamp
}

// QuotePolicyOf reads who may quote a remote post from its
// interactionPolicy.canQuote automaticApproval, as Mastodon flattens it:
// Public is public, the author's followers collection followers, the
// author alone nobody; anything else (or nothing) is unknown ("").
func QuotePolicyOf(doc []byte, author, followers string) federation.QuotePolicy {
	m, err := decodeObject(doc)
	if err != nil {
		return ""
	}
	policy, _ := m["interactionPolicy"].(map[string]any)
	can, _ := policy["canQuote"].(map[string]any)
	if can == nil {
		return ""
	}
	auto := addresses(can["automaticApproval"])
	out := federation.QuoteNobody
	for _, a := range auto {
		switch {
		case a == federation.PublicCollection:
			return federation.QuotePublic
		case followers != "" && a == followers:
			out = federation.QuoteFollowers
		case a != author:
			return "" // a list of accounts: not a policy Mastodon (or we) can state
		}
	}
	return out
}

// Stamp is a fetched QuoteAuthorization.
type Stamp struct {
	ID, AttributedTo, InteractingObject, InteractionTarget string
}

// ParseQuoteAuthorization reads a stamp document.
func ParseQuoteAuthorization(doc []byte) (*Stamp, error) {
	m, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	if !hasType(m, "QuoteAuthorization") {
		return nil, errs.E(errs.Invalid, "the document is not a QuoteAuthorization")
	}
	s := &Stamp{ID: str(m, "id"), AttributedTo: idOf(m["attributedTo"]),
		InteractingObject: idOf(m["interactingObject"]), InteractionTarget: idOf(m["interactionTarget"])}
	if absURL(s.ID) == nil || absURL(s.AttributedTo) == nil || !SameOrigin(s.ID, s.AttributedTo) {
		return nil, errs.E(errs.Invalid, "the stamp's id and author are not on one host")
	}
	return s, nil
}
