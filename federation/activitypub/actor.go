// Package activitypub maps Roost's core types to ActivityStreams 2.0 and
// the discovery documents around it (WebFinger, NodeInfo, host-meta).
package activitypub

import (
	"html"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
)

// ContentType is the media type of every ActivityPub document we serve.
const ContentType = "application/activity+json"

// ActorContext is the JSON-LD context of actor documents: ActivityStreams,
// the security vocabulary (publicKey), and the Mastodon extensions we use.
var ActorContext = []any{
	"https://www.w3.org/ns/activitystreams",
	"https://w3id.org/security/v1",
	map[string]any{
		"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
		"toot":                      "http://joinmastodon.org/ns#",
		"featured":                  map[string]string{"@id": "toot:featured", "@type": "@id"},
		"featuredTags":              map[string]string{"@id": "toot:featuredTags", "@type": "@id"},
		"discoverable":              "toot:discoverable",
		"alsoKnownAs":               map[string]string{"@id": "as:alsoKnownAs", "@type": "@id"},
		"movedTo":                   map[string]string{"@id": "as:movedTo", "@type": "@id"},
		"schema":                    "http://schema.org#",
		"PropertyValue":             "schema:PropertyValue",
		"value":                     "schema:value",
	},
}

// Actor is an ActivityPub actor document.
type Actor struct {
	Context                   any             `json:"@context"`
	ID                        string          `json:"id"`
	Type                      string          `json:"type"`
	PreferredUsername         string          `json:"preferredUsername"`
	Name                      string          `json:"name"`
	Summary                   string          `json:"summary"`
	URL                       string          `json:"url"`
	Inbox                     string          `json:"inbox"`
	Outbox                    string          `json:"outbox,omitempty"`
	Followers                 string          `json:"followers,omitempty"`
	Following                 string          `json:"following,omitempty"`
	Featured                  string          `json:"featured,omitempty"`
	FeaturedTags              string          `json:"featuredTags,omitempty"`
	ManuallyApprovesFollowers bool            `json:"manuallyApprovesFollowers"`
	Discoverable              bool            `json:"discoverable"`
	Published                 string          `json:"published"`
	PublicKey                 PublicKey       `json:"publicKey"`
	Endpoints                 Endpoints       `json:"endpoints"`
	AlsoKnownAs               []string        `json:"alsoKnownAs,omitempty"`
	MovedTo                   string          `json:"movedTo,omitempty"`
	Attachment                []PropertyValue `json:"attachment,omitempty"`
	Icon                      *Image          `json:"icon,omitempty"`
	Image                     *Image          `json:"image,omitempty"`
}

// PropertyValue is a profile field as Mastodon federates it.
type PropertyValue struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

// PublicKey is the security-vocabulary key block of an actor.
type PublicKey struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"`
	PublicKeyPem string `json:"publicKeyPem"`
}

// Endpoints lists an actor's server-wide endpoints.
type Endpoints struct {
	SharedInbox string `json:"sharedInbox"`
}

// Image is an avatar or header.
type Image struct {
	Type      string `json:"type"`
	MediaType string `json:"mediaType,omitempty"`
	URL       string `json:"url"`
}

// NewActor renders a local account as an actor, with URLs from links.
func NewActor(a *federation.Account, links federation.Links) *Actor {
	kind := "Person"
	if a.Bot {
		kind = "Service"
	}
	id := links.Actor(a.Username)
	return &Actor{
		Context:                   ActorContext,
		ID:                        id,
		Type:                      kind,
		PreferredUsername:         a.Username,
		Name:                      a.DisplayName,
		Summary:                   TextToHTML(a.Note),
		URL:                       links.Profile(a.Username),
		Inbox:                     links.Inbox(a.Username),
		Outbox:                    links.Outbox(a.Username),
		Followers:                 links.Followers(a.Username),
		Following:                 links.Following(a.Username),
		Featured:                  links.Featured(a.Username),
		FeaturedTags:              links.FeaturedTags(a.Username),
		ManuallyApprovesFollowers: a.Locked,
		Discoverable:              a.Discoverable,
		Published:                 a.CreatedAt.UTC().Truncate(24 * time.Hour).Format(time.RFC3339),
		PublicKey:                 PublicKey{ID: links.Key(a.Username), Owner: id, PublicKeyPem: a.PublicKeyPEM},
		Endpoints:                 Endpoints{SharedInbox: links.SharedInbox()},
		AlsoKnownAs:               a.AlsoKnownAs,
		MovedTo:                   a.MovedTo,
		Attachment:                fieldsOf(a.Fields),
		Icon:                      image(a.AvatarURL),
		Image:                     image(a.HeaderURL),
	}
}

func fieldsOf(fields []federation.Field) []PropertyValue {
	var out []PropertyValue
	for _, f := range fields {
		out = append(out, PropertyValue{Type: "PropertyValue", Name: f.Name, Value: FieldHTML(f.Value)})
	}
	return out
}

// FieldHTML renders a local profile field's value: an http(s) URL becomes
// a rel="me" link in Mastodon's markup (scheme hidden), anything else is
// escaped text.
func FieldHTML(v string) string {
	if (strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://")) && !strings.ContainsAny(v, " \t\n\"<>'") {
		esc := html.EscapeString(v)
		shown := strings.TrimPrefix(strings.TrimPrefix(esc, "https://"), "http://")
		return `<a href="` + esc + `" target="_blank" rel="nofollow noopener noreferrer me" translate="no">` +
			`<span class="invisible">` + strings.TrimSuffix(esc, shown) + `</span><span class="">` + shown + `</span></a>`
	}
	return html.EscapeString(v)
}

func image(u string) *Image {
	if u == "" {
		return nil
	}
	return &Image{Type: "Image", MediaType: mediaTypeOf(u), URL: u}
}

func mediaTypeOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch strings.ToLower(path.Ext(u.Path)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	}
	return ""
}

// paragraphBreak is a blank line, spaces on it included.
var paragraphBreak = regexp.MustCompile(`\n[ \t]*\n`)

// TextToHTML renders plain text as escaped HTML paragraphs: blank lines
// separate paragraphs, single newlines become <br>.
func TextToHTML(text string) string {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	if text == "" {
		return ""
	}
	var b strings.Builder
	for _, para := range paragraphBreak.Split(text, -1) {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}

// NewInstanceActor renders the site's instance actor: an Application named
// after the host, whose key signs the site's fetches.
func NewInstanceActor(host, publicKeyPEM string, links federation.Links) *Actor {
	id := links.InstanceActor()
	return &Actor{
		Context: ActorContext, ID: id, Type: "Application", PreferredUsername: host, Name: host,
		URL: links.Base, Inbox: links.SharedInbox(), ManuallyApprovesFollowers: true, Published: "1970-01-01T00:00:00Z",
		PublicKey: PublicKey{ID: id + "#main-key", Owner: id, PublicKeyPem: publicKeyPEM},
		Endpoints: Endpoints{SharedInbox: links.SharedInbox()},
	}
}
