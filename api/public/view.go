package public

import (
	"html"
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
)

// view is every public page's template data.
type view struct {
	page.Page
	Meta meta
	// SiteName is the tenant's name, in the header of every page.
	SiteName string

	Profile *person
	Tab     string
	Posts   []*post
	Pinned  []*post
	// Next is the link to the following page ("" on the last).
	Next string

	Focus     *post
	Ancestors []*post
	Replies   []*post

	Tag       string
	Directory []*person
	SignIn    string // the domain an app signs in to
	Rules     []mastodon.Rule
	About     template.HTML
}

// meta is what a page tells previews, feed readers and ActivityPub
// clients in its head.
type meta struct {
	Canonical, Description, Image, Type string
	ActivityJSON, RSS, OEmbed           string
	Author                              string
}

// person is an account as a page shows it.
type person struct {
	*mastodon.Account
	Name     string
	NameHTML template.HTML // Name with its custom emoji
	Handle   string        // user@domain
	Avatar   string        // "" when its image is not allowed on the page
	Header   string
	Note     template.HTML
	Fields   []field
	Link     string // its page here, or its own URL
	Local    bool
	RSS      string
	Profile  string // its profile page on this domain ("" for a remote one)
}

type field struct {
	Name     template.HTML
	Value    template.HTML
	Verified bool
}

// post is a status as a page shows it: for a boost, the original, with
// who boosted it.
type post struct {
	*mastodon.Status
	Author    *person
	BoostedBy *person
	Content   template.HTML
	Media     []attachment
	Link      string // the post's page here, or its URL elsewhere
	Local     bool
	Edited    bool
}

type attachment struct {
	mastodon.Attachment
	Alt    string
	Kind   string
	Inline bool   // shown on the page; a remote file is linked, not loaded
	Src    string // what the page loads: the preview of an image
}

// looks builds people and posts for one request: which image origins the
// page may load, and the site's domain.
type looks struct {
	origins []string
	base    string // the site's handle-domain base URL
	domain  string // the site's handle domain
	people  map[string]*person
	deps    *deps // what the page shows, when it is cached
	// emojis are the site's custom emoji images by shortcode, loaded by
	// loadEmojis when first needed (emoji.go).
	emojis     map[string]string
	loadEmojis func() ([]federation.CustomEmoji, error)
}

func (h *Handler) looks(c *fiber.Ctx) *looks {
	l := &looks{origins: h.origins(c), base: httpx.SiteBase(c, h.URL),
		domain: httpx.SiteOf(c).Domain, people: map[string]*person{}, deps: depsOf(c)}
	if h.Emojis != nil {
		ctx, tenantID := c.UserContext(), httpx.SiteOf(c).TenantID
		l.loadEmojis = func() ([]federation.CustomEmoji, error) { return h.Emojis.CustomEmojis(ctx, tenantID) }
	}
	return l
}

// origins are the image origins of the request's pages: the site's own
// domain and its actor host, where uploads and avatars are served
// (/media on the tenant's domain, whatever the storage behind it).
func (h *Handler) origins(c *fiber.Ctx) []string {
	out := []string{httpx.SiteBase(c, h.URL)}
	if a := httpx.Links(c, h.URL).Base; a != out[0] {
		out = append(out, a)
	}
	return out
}

// imageSources is the CSP img-src and media-src of a page: its own origin
// and the media origins, never any remote server (remote media are
// linked, so a visitor's address is not handed to other servers).
func (h *Handler) imageSources(c *fiber.Ctx) []string {
	return append([]string{"'self'"}, h.origins(c)...)
}

// allowed reports whether the page may load u.
func (l *looks) allowed(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	origin := p.Scheme + "://" + p.Host
	for _, o := range l.origins {
		if o == origin {
			return true
		}
	}
	return false
}

func (l *looks) person(a *mastodon.Account) *person {
	if a == nil {
		return nil
	}
	if p, ok := l.people[a.ID]; ok {
		return p
	}
	l.deps.add("a" + a.ID)
	p := &person{Account: a, Name: a.DisplayName, Link: a.URL, Handle: a.Acct,
		// Note and field values are sanitised HTML: a local account's
		// rendered from its text, a remote one's cleaned when received.
		Note: template.HTML(a.Note)}
	if strings.TrimSpace(p.Name) == "" {
		p.Name = a.Username
	}
	if !strings.Contains(p.Handle, "@") {
		p.Local = true
		p.Handle = a.Acct + "@" + l.domain
		p.Profile = l.base + "/@" + a.Username
		p.Link = p.Profile
		p.RSS = p.Profile + ".rss"
	}
	if a.Moved != nil {
		l.deps.add("a" + a.Moved.ID)
	}
	emoji := l.emojiSet(p.Local, a.Emojis)
	p.NameHTML = emojiText(p.Name, emoji)
	// Sanitised HTML (see above); emojify adds only its own images.
	p.Note = template.HTML(emojify(a.Note, emoji))
	if l.allowed(a.Avatar) {
		p.Avatar = a.Avatar
	} else {
		p.Avatar = l.base + "/avatars/original/missing.png"
	}
	if l.allowed(a.Header) && !strings.HasSuffix(a.Header, "/missing.png") {
		p.Header = a.Header
	}
	for _, f := range a.Fields {
		p.Fields = append(p.Fields, field{Name: emojiText(f.Name, emoji), Value: template.HTML(emojify(f.Value, emoji)),
			Verified: f.VerifiedAt != nil})
	}
	l.people[a.ID] = p
	return p
}

func (l *looks) posts(ss []*mastodon.Status) []*post {
	out := make([]*post, 0, len(ss))
	for _, s := range ss {
		out = append(out, l.post(s))
	}
	return out
}

func (l *looks) post(s *mastodon.Status) *post {
	var by *person
	l.deps.add("s" + s.ID)
	if s.Reblog != nil {
		by = l.person(s.Account)
		s = s.Reblog
		l.deps.add("s" + s.ID)
	}
	p := &post{Status: s, Author: l.person(s.Account), BoostedBy: by, Edited: s.EditedAt != nil,
		// Content is sanitised HTML, as the client API serves it: a local
		// post's rendered from its text, a remote one's cleaned when received.
		Content: template.HTML(s.Content)}
	p.Local = p.Author.Local
	p.Content = template.HTML(emojify(s.Content, l.emojiSet(p.Local, s.Emojis))) // sanitised, as above
	switch {
	case p.Local:
		p.Link = p.Author.Profile + "/" + s.ID
	case s.URL != nil && *s.URL != "":
		p.Link = *s.URL
	default:
		p.Link = s.URI
	}
	for _, a := range s.MediaAttachments {
		m := attachment{Attachment: a, Kind: a.Type}
		if a.Description != nil {
			m.Alt = *a.Description
		}
		m.Src = a.URL
		if a.Type == "image" && a.PreviewURL != nil && *a.PreviewURL != "" {
			m.Src = *a.PreviewURL
		}
		m.Inline = l.allowed(m.Src) && l.allowed(a.URL)
		p.Media = append(p.Media, m)
	}
	return p
}

// excerpt is s as plain text, at most n runes, for previews.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(stripTags(s)), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// stripTags drops the tags of sanitised HTML and unescapes its text.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return html.UnescapeString(b.String())
}

// statusID parses a post id from a path; anything else is no post.
func statusID(raw string) (int64, bool) {
	if raw == "" || len(raw) > 19 {
		return 0, false
	}
	var n int64
	for _, r := range raw {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int64(r-'0')
	}
	return n, n > 0
}
