package webapp

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
)

// The statuses the client API answers, as the screens show them. The
// shape follows the public pages' (api/public view.go): the same rules for
// which images a page loads (this site's and its media origins' only;
// remote files are linked, never loaded, so the viewer's address is not
// handed to other servers), for a boost shown as the original with who
// boosted it, and for content warnings collapsed.

// person is an account as a screen shows it.
type person struct {
	ID     string
	Name   string
	Handle string // user@domain
	Avatar string // "" is never left: the default avatar stands in
	Link   string // its profile page here, or its own URL
	Local  bool
	// Rel is the viewer's relationship (nil when not asked).
	Rel *mastodon.Relationship
	Me  bool
}

// post is a status as a screen shows it.
type post struct {
	*mastodon.Status
	// EntryID is the timeline entry's own id (a boost's): the DOM id and
	// the paging key.
	EntryID   string
	Author    *person
	BoostedBy *person
	Content   template.HTML
	Media     []attachment
	Link      string
	Edited    bool
	Mine      bool
	Fav       bool
	Boosted   bool
	Marked    bool
	Poll      *pollView
	// Filter is the title of the warn filter that matched ("" for none):
	// the post is collapsed behind it.
	Filter string
}

type attachment struct {
	mastodon.Attachment
	Alt    string
	Kind   string
	Inline bool
	Src    string
}

type pollView struct {
	*mastodon.Poll
	// CanVote: open, not the viewer's own, not voted yet.
	CanVote bool
	Total   int
}

// looks turns entities into people and posts for one request.
type looks struct {
	origins []string
	base    string
	domain  string
	me      string
	people  map[string]*person
}

func (h *Handler) looks(c *fiber.Ctx) *looks {
	l := &looks{origins: h.origins(c), base: httpx.SiteBase(c, h.URL), domain: httpx.SiteOf(c).Domain,
		people: map[string]*person{}}
	if v := viewer(c); v != nil {
		l.me = strconv.FormatInt(v.Account.ID, 10)
	}
	return l
}

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
		return &person{Name: "unknown", Avatar: l.base + "/avatars/original/missing.png"}
	}
	if p, ok := l.people[a.ID]; ok {
		return p
	}
	p := &person{ID: a.ID, Name: strings.TrimSpace(a.DisplayName), Handle: a.Acct, Link: a.URL, Me: a.ID == l.me}
	if p.Name == "" {
		p.Name = a.Username
	}
	if !strings.Contains(p.Handle, "@") {
		p.Local = true
		p.Handle = a.Acct + "@" + l.domain
		p.Link = l.base + "/@" + a.Username
	}
	p.Avatar = l.base + "/avatars/original/missing.png"
	if l.allowed(a.Avatar) {
		p.Avatar = a.Avatar
	}
	l.people[a.ID] = p
	return p
}

func (l *looks) posts(ss []*mastodon.Status) []*post {
	out := make([]*post, 0, len(ss))
	for _, s := range ss {
		if s != nil {
			out = append(out, l.post(s))
		}
	}
	return out
}

func (l *looks) post(s *mastodon.Status) *post {
	entry := s.ID
	var by *person
	if s.Reblog != nil {
		by = l.person(s.Account)
		s = s.Reblog
	}
	p := &post{Status: s, EntryID: entry, Author: l.person(s.Account), BoostedBy: by, Edited: s.EditedAt != nil,
		// Sanitised HTML, as the client API serves it (api/public alike).
		Content: template.HTML(s.Content), Fav: isTrue(s.Favourited), Boosted: isTrue(s.Reblogged),
		Marked: isTrue(s.Bookmarked)}
	p.Mine = p.Author.Me
	switch {
	case p.Author.Local:
		p.Link = p.Author.Link + "/" + s.ID
	case s.URL != nil && *s.URL != "":
		p.Link = *s.URL
	default:
		p.Link = s.URI
	}
	for _, a := range s.MediaAttachments {
		m := attachment{Attachment: a, Kind: a.Type, Src: a.URL}
		if a.Description != nil {
			m.Alt = *a.Description
		}
		if a.Type == "image" && a.PreviewURL != nil && *a.PreviewURL != "" {
			m.Src = *a.PreviewURL
		}
		m.Inline = l.allowed(m.Src) && l.allowed(a.URL)
		p.Media = append(p.Media, m)
	}
	if s.Poll != nil {
		p.Poll = &pollView{Poll: s.Poll, Total: s.Poll.VotesCount,
			CanVote: !s.Poll.Expired && !p.Mine && !isTrue(s.Poll.Voted)}
	}
	if s.Filtered != nil {
		for _, f := range *s.Filtered {
			if m, ok := f.(map[string]any); ok {
				if fl, ok := m["filter"].(map[string]any); ok {
					if t, ok := fl["title"].(string); ok {
						p.Filter = t
						break
					}
				}
			}
		}
	}
	return p
}

func isTrue(b *bool) bool { return b != nil && *b }

// withRelations fills the viewer's relationship to every author of the
// posts (one client API call), for the follow, mute and block buttons.
func (h *Handler) withRelations(c *fiber.Ctx, l *looks) error {
	q := url.Values{}
	for id, p := range l.people {
		if !p.Me && id != "" {
			q.Add("id[]", id)
		}
	}
	if len(q) == 0 {
		return nil
	}
	var rels []*mastodon.Relationship
	if err := h.get(c, "/api/v1/accounts/relationships", q, &rels); err != nil {
		return err
	}
	for _, r := range rels {
		if p, ok := l.people[r.ID]; ok {
			p.Rel = r
		}
	}
	return nil
}

// validID reports whether raw is a status, account, list or poll id:
// digits only, so nothing else reaches a client API path.
func validID(raw string) bool {
	if raw == "" || len(raw) > 19 {
		return false
	}
	for _, r := range raw {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
