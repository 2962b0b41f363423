package card

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"github.com/microcosm-cc/bluemonday"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/text"
)

// Bounds on what a card keeps of a page's claims, in bytes.
const (
	maxText = 2000 // description, names
	maxHTML = 8192 // an oEmbed embed
	maxSide = 10000
)

// draft is a card being built, with the image it names (not fetched yet).
type draft struct {
	federation.Card
	image string
}

// clean makes page text safe to keep: valid UTF-8 without control
// characters, whitespace collapsed, bounded.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	return text.Clip(strings.Join(strings.Fields(s), " "), maxText)
}

// oembed is an oEmbed answer (oembed.com, section 2.3.4).
type oembed struct {
	Type         string `json:"type"`
	Title        string `json:"title"`
	AuthorName   string `json:"author_name"`
	AuthorURL    string `json:"author_url"`
	ProviderName string `json:"provider_name"`
	ProviderURL  string `json:"provider_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	URL          string `json:"url"`
	HTML         string `json:"html"`
	Width        dim    `json:"width"`
	Height       dim    `json:"height"`
}

// dim reads a dimension sent as a number or a string ("640"), as
// providers differ; anything else is zero.
type dim int

func (d *dim) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 && f <= maxSide {
		*d = dim(f)
	}
	return nil
}

// embedPolicy keeps of an oEmbed's HTML only an https iframe and its
// harmless attributes: providers' scripts never reach a client (Mastodon
// CVE-2023-36459 was HTML from a card).
var embedPolicy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("iframe")
	p.AllowAttrs("src").OnElements("iframe")
	p.AllowAttrs("width", "height").Matching(bluemonday.Integer).OnElements("iframe")
	p.AllowAttrs("allowfullscreen", "frameborder", "scrolling", "title").OnElements("iframe")
	p.AllowURLSchemes("https")
	p.RequireParseableURLs(true)
	return p
}()

// applyOEmbed lays an oEmbed answer over d as Mastodon reads one: photo
// embeds give the image, video and rich ones their (sanitised) HTML and
// size; a link answer adds its thumbnail. It returns false when the
// answer is unusable and d is left as it was.
func applyOEmbed(d *draft, h *head, body []byte) bool {
	var o oembed
	if err := json.Unmarshal(body, &o); err != nil {
		return false
	}
	next := *d
	switch o.Type {
	case "photo":
		u := h.resolve(o.URL)
		if u == "" {
			return false
		}
		next.Type, next.EmbedURL, next.image = "photo", u, u
		next.Width, next.Height = int(o.Width), int(o.Height)
	case "video", "rich":
		embed := strings.TrimSpace(embedPolicy.Sanitize(o.HTML))
		if !strings.HasPrefix(embed, "<iframe") || len(embed) > maxHTML {
			return false // nothing a client could show without a provider's script
		}
		next.Type, next.HTML = o.Type, embed
		next.Width, next.Height = int(o.Width), int(o.Height)
	case "link":
	default:
		return false
	}
	if o.Type != "photo" {
		if thumb := h.resolve(o.ThumbnailURL); thumb != "" {
			next.image = thumb
		}
	}
	next.Title = firstOf(clean(o.Title), next.Title)
	next.AuthorName = firstOf(clean(o.AuthorName), next.AuthorName)
	next.AuthorURL = firstOf(h.resolve(o.AuthorURL), next.AuthorURL)
	next.ProviderName = firstOf(clean(o.ProviderName), next.ProviderName)
	next.ProviderURL = firstOf(h.resolve(o.ProviderURL), next.ProviderURL)
	*d = next
	return true
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
