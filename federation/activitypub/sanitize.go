package activitypub

import (
	"regexp"

	"github.com/microcosm-cc/bluemonday"
)

// allowedClass matches class attributes made only of the classes Mastodon
// keeps: microformats (h-, p-, u-, dt-, e-) and its own presentational ones.
var allowedClass = regexp.MustCompile(`^(?:(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible)(?: (?:(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible))*$`)

// remoteHTML is the policy every remote HTML string passes before it is
// stored or served: Mastodon's allowed elements and classes, links forced
// to nofollow and a new tab, no scripts, styles, images or event handlers.
var remoteHTML = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "a", "del", "pre", "blockquote", "code", "b", "strong", "u", "i", "em", "ul", "ol", "li")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("class").Matching(allowedClass).OnElements("a", "span")
	p.AllowAttrs("translate").Matching(regexp.MustCompile(`^(?:yes|no)$`)).OnElements("a", "span")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("reversed").Matching(regexp.MustCompile(`^(?:reversed)?$`)).OnElements("ol")
	p.AllowAttrs("value").Matching(bluemonday.Integer).OnElements("li")
	p.AllowURLSchemes("http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// SanitizeHTML cleans remote HTML with Mastodon's rules. The policy is safe
// for concurrent use.
func SanitizeHTML(html string) string { return remoteHTML.Sanitize(html) }
