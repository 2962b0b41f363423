package activitypub

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/roost-social/roost/federation"
)

// asContext is the JSON-LD context of outgoing activities: ActivityStreams
// plus the Mastodon terms our notes use.
var asContext = []any{
	"https://www.w3.org/ns/activitystreams",
	map[string]any{"sensitive": "as:sensitive", "Hashtag": "as:Hashtag", "toot": "http://joinmastodon.org/ns#",
		"blurhash": "toot:blurhash", "focalPoint": map[string]any{"@container": "@list", "@id": "toot:focalPoint"},
		"votersCount": "toot:votersCount"},
	quoteContext, // quote.go
}

// Note is an outgoing post.
type Note struct {
	ID           string              `json:"id"`
	Type         string              `json:"type"`
	AttributedTo string              `json:"attributedTo"`
	URL          string              `json:"url,omitempty"`
	InReplyTo    *string             `json:"inReplyTo"`
	Content      string              `json:"content"`
	Summary      *string             `json:"summary"`
	Sensitive    bool                `json:"sensitive"`
	Published    string              `json:"published"`
	Updated      string              `json:"updated,omitempty"`
	To           []string            `json:"to"`
	Cc           []string            `json:"cc"`
	Tag          []map[string]string `json:"tag"`
	Attachment   []NoteAttachment    `json:"attachment"`
	ContentMap   map[string]string   `json:"contentMap,omitempty"`
	// A poll makes the note a Question (see question.go).
	OneOf       []PollChoice `json:"oneOf,omitempty"`
	AnyOf       []PollChoice `json:"anyOf,omitempty"`
	EndTime     string       `json:"endTime,omitempty"`
	Closed      string       `json:"closed,omitempty"`
	VotersCount *int         `json:"votersCount,omitempty"`
	// A quote and who may quote this note (quote.go, FEP-044f).
	Quote              string             `json:"quote,omitempty"`
	QuoteURI           string             `json:"quoteUri,omitempty"`
	MisskeyQuote       string             `json:"_misskey_quote,omitempty"`
	QuoteAuthorization string             `json:"quoteAuthorization,omitempty"`
	InteractionPolicy  *InteractionPolicy `json:"interactionPolicy,omitempty"`
}

// NewNote renders a local status authored by actorURI.
func NewNote(st *federation.Status, actorURI, url string) *Note {
	n := &Note{
		ID: st.URI, Type: "Note", AttributedTo: actorURI, URL: url, Content: st.Content, Sensitive: st.Sensitive,
		Published: st.Published.UTC().Format(time.RFC3339), To: nonNilStrings(st.To), Cc: nonNilStrings(st.Cc),
		Tag: []map[string]string{}, Attachment: noteAttachments(st.Attachments),
	}
	addPoll(n, st.Poll, time.Now())
	addQuote(n, st, actorURI) // quote.go
	if st.InReplyToURI != "" {
		n.InReplyTo = &st.InReplyToURI
	}
	if st.Summary != "" {
		n.Summary = &st.Summary
	}
	if st.EditedAt != nil {
		n.Updated = st.EditedAt.UTC().Format(time.RFC3339)
	}
	if st.Language != "" {
		n.ContentMap = map[string]string{st.Language: st.Content}
	}
	for _, m := range st.Mentions {
		n.Tag = append(n.Tag, map[string]string{"type": "Mention", "href": m})
	}
	for _, t := range st.Tags {
		n.Tag = append(n.Tag, map[string]string{"type": "Hashtag", "name": "#" + t})
	}
	return n
}

// Wrap puts an object into an activity of the given type by actorURI,
// addressed like the object.
func Wrap(kind, id, actorURI string, object any, to, cc []string) map[string]any {
	return map[string]any{
		"@context": asContext, "id": id, "type": kind, "actor": actorURI, "object": object,
		"to": nonNilStrings(to), "cc": nonNilStrings(cc),
	}
}

// Addressing returns to/cc for a local status by visibility, as Mastodon
// addresses them.
func Addressing(v federation.Visibility, followers string, mentions []string) (to, cc []string) {
	switch v {
	case federation.Public:
		return []string{federation.PublicCollection}, append([]string{followers}, mentions...)
	case federation.Unlisted:
		return []string{followers}, append([]string{federation.PublicCollection}, mentions...)
	case federation.Private:
		return []string{followers}, mentions
	}
	return mentions, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// NewFollowID makes a fresh, unguessable id for a Follow by actorURI.
func NewFollowID(actorURI string) string { return actorURI + "#follows/" + token() }

// NewFollow renders a Follow of object by actor.
func NewFollow(id, actor, object string) map[string]any {
	return map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": id, "type": "Follow", "actor": actor, "object": object}
}

// token is a random fragment for activity ids.
func token() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewToken is token for ids built outside this package.
func NewToken() string { return token() }
