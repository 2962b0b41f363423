package mastodon

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/tenant"
)

// The entities below follow docs.joinmastodon.org/entities: every
// documented field is present; what we do not know is null or empty.

// Account is Mastodon's Account entity.
type Account struct {
	ID             string   `json:"id"`
	Username       string   `json:"username"`
	Acct           string   `json:"acct"`
	URL            string   `json:"url"`
	URI            string   `json:"uri"`
	DisplayName    string   `json:"display_name"`
	Note           string   `json:"note"`
	Avatar         string   `json:"avatar"`
	AvatarStatic   string   `json:"avatar_static"`
	Header         string   `json:"header"`
	HeaderStatic   string   `json:"header_static"`
	Locked         bool     `json:"locked"`
	Fields         []Field  `json:"fields"`
	Emojis         []Emoji  `json:"emojis"`
	Bot            bool     `json:"bot"`
	Group          bool     `json:"group"`
	Discoverable   *bool    `json:"discoverable"`
	Indexable      bool     `json:"indexable"`
	HideCollection *bool    `json:"hide_collections"`
	Noindex        *bool    `json:"noindex,omitempty"`
	Memorial       *bool    `json:"memorial,omitempty"` // only for a memorialised account (none here), as on Mastodon
	Moved          *Account `json:"moved,omitempty"`
	Suspended      bool     `json:"suspended,omitempty"`
	Limited        bool     `json:"limited,omitempty"`
	CreatedAt      string   `json:"created_at"`
	LastStatusAt   *string  `json:"last_status_at"`
	StatusesCount  int64    `json:"statuses_count"`
	FollowersCount int64    `json:"followers_count"`
	FollowingCount int64    `json:"following_count"`
	Roles          []any    `json:"roles"`
	Source         *Source  `json:"source,omitempty"`
	Role           *Role    `json:"role,omitempty"`
}

// Field is a profile field.
type Field struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// Emoji is a custom emoji.
type Emoji struct {
	Shortcode       string `json:"shortcode"`
	URL             string `json:"url"`
	StaticURL       string `json:"static_url"`
	VisibleInPicker bool   `json:"visible_in_picker"`
	Category        string `json:"category,omitempty"`
}

// Source is the credential account's editable profile and defaults.
type Source struct {
	Privacy             string  `json:"privacy"`
	Sensitive           bool    `json:"sensitive"`
	Language            *string `json:"language"`
	Note                string  `json:"note"`
	Fields              []Field `json:"fields"`
	FollowRequestsCount int64   `json:"follow_requests_count"`
	HideCollections     *bool   `json:"hide_collections"`
	Discoverable        *bool   `json:"discoverable"`
	Indexable           bool    `json:"indexable"`
	// AttributionDomains (4.4) and QuotePolicy (4.5): accountroutes.go.
	AttributionDomains []string `json:"attribution_domains"`
	QuotePolicy        string   `json:"quote_policy"`
}

// Role is the credential account's role on its tenant.
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Permissions string `json:"permissions"`
	Color       string `json:"color"`
	Highlighted bool   `json:"highlighted"`
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string       `json:"id"`
	URI                string       `json:"uri"`
	URL                *string      `json:"url"`
	CreatedAt          string       `json:"created_at"`
	EditedAt           *string      `json:"edited_at"`
	Account            *Account     `json:"account"`
	Content            string       `json:"content"`
	Visibility         string       `json:"visibility"`
	Sensitive          bool         `json:"sensitive"`
	SpoilerText        string       `json:"spoiler_text"`
	MediaAttachments   []Attachment `json:"media_attachments"`
	Application        *Application `json:"application"`
	Mentions           []Mention    `json:"mentions"`
	Tags               []Tag        `json:"tags"`
	Emojis             []Emoji      `json:"emojis"`
	ReblogsCount       int64        `json:"reblogs_count"`
	FavouritesCount    int64        `json:"favourites_count"`
	RepliesCount       int64        `json:"replies_count"`
	QuotesCount        int64        `json:"quotes_count"`
	InReplyToID        *string      `json:"in_reply_to_id"`
	InReplyToAccountID *string      `json:"in_reply_to_account_id"`
	Reblog             *Status      `json:"reblog"`
	Poll               *Poll        `json:"poll"`
	Card               *Card        `json:"card"`
	Language           *string      `json:"language"`
	Text               *string      `json:"text"`
	// Present only for an authenticated viewer, as in Mastodon.
	Favourited *bool `json:"favourited,omitempty"`
	Reblogged  *bool `json:"reblogged,omitempty"`
	Muted      *bool `json:"muted,omitempty"`
	Bookmarked *bool `json:"bookmarked,omitempty"`
	Pinned     *bool `json:"pinned,omitempty"`
	// Filtered is the warn filters matched: an empty array when none, for
	// a signed-in viewer only (statusroutes.go: nil omits it).
	Filtered *[]any `json:"filtered,omitempty"`
	// Quote is a Quote, or a ShallowQuote inside a quoted post (quotes.go).
	Quote         any            `json:"quote"`
	QuoteApproval *QuoteApproval `json:"quote_approval"`
}

// Attachment is a MediaAttachment.
type Attachment struct {
	ID               string  `json:"id"`
	Type             string  `json:"type"`
	URL              string  `json:"url"`
	PreviewURL       *string `json:"preview_url"`
	RemoteURL        *string `json:"remote_url"`
	PreviewRemoteURL *string `json:"preview_remote_url"`
	TextURL          *string `json:"text_url"`
	Meta             any     `json:"meta"`
	Description      *string `json:"description"`
	Blurhash         *string `json:"blurhash"`
}

// Application is the app a status was posted with, or a registered app.
type Application struct {
	Name    string  `json:"name"`
	Website *string `json:"website"`
}

// Mention is a mentioned account in a status.
type Mention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Tag is a hashtag in a status.
type Tag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Poll is a status's poll.
type Poll struct {
	ID          string       `json:"id"`
	ExpiresAt   *string      `json:"expires_at"`
	Expired     bool         `json:"expired"`
	Multiple    bool         `json:"multiple"`
	VotesCount  int          `json:"votes_count"`
	VotersCount *int         `json:"voters_count"`
	Options     []PollOption `json:"options"`
	Emojis      []Emoji      `json:"emojis"`
	Voted       *bool        `json:"voted,omitempty"`
	OwnVotes    *[]int       `json:"own_votes,omitempty"`
}

// PollOption is one answer.
type PollOption struct {
	Title      string `json:"title"`
	VotesCount *int   `json:"votes_count"`
}

// Relationship is Mastodon's Relationship entity.
type Relationship struct {
	ID                  string   `json:"id"`
	Following           bool     `json:"following"`
	ShowingReblogs      bool     `json:"showing_reblogs"`
	Notifying           bool     `json:"notifying"`
	Languages           []string `json:"languages"`
	FollowedBy          bool     `json:"followed_by"`
	Blocking            bool     `json:"blocking"`
	BlockedBy           bool     `json:"blocked_by"`
	Muting              bool     `json:"muting"`
	MutingNotifications bool     `json:"muting_notifications"`
	Requested           bool     `json:"requested"`
	RequestedBy         bool     `json:"requested_by"`
	DomainBlocking      bool     `json:"domain_blocking"`
	Endorsed            bool     `json:"endorsed"`
	Note                string   `json:"note"`
}

// Notification is Mastodon's Notification entity.
type Notification struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	CreatedAt string   `json:"created_at"`
	GroupKey  string   `json:"group_key"`
	Account   *Account `json:"account"`
	Status    *Status  `json:"status,omitempty"`
}

// timeFormat is Mastodon's timestamp: UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

func idStr(id int64) string { return strconv.FormatInt(id, 10) }

func idPtr(id int64) *string {
	if id == 0 {
		return nil
	}
	s := idStr(id)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func boolPtr(b bool) *bool { return &b }

// renderer turns views into entities for one request: the viewing site
// (acct is relative to its domain) and the viewer (0: anonymous).
type renderer struct {
	h      *Handler
	ctx    context.Context
	site   *tenant.Site
	viewer int64
	// seer is the viewer statuses are shown to: viewer, or the signed-out
	// public of the site's tenant (seer in mastodon.go); 0 only off the
	// request path (export rendering), where no tenant's hides apply.
	seer  int64
	links map[string]federation.Links // actor hosts by handle domain
	extra *renderExtra                // filters and hides (decorate.go); nil: none
	// quoted is set while rendering quoted posts: their own quotes are
	// shallow (quotes.go).
	quoted bool
}

// linksFor returns the URL builder of a local account's actor host.
func (r *renderer) linksFor(domain string) federation.Links {
	if l, ok := r.links[domain]; ok {
		return l
	}
	host := domain
	if site, err := r.h.Sites.Resolve(r.ctx, domain); err == nil {
		host = site.ActorHost()
	}
	l := federation.NewLinks(r.h.URL.Scheme, host, r.h.URL.Port)
	if r.links == nil {
		r.links = map[string]federation.Links{}
	}
	r.links[domain] = l
	return l
}

// account renders an account.
func (r *renderer) account(v *federation.AccountView) *Account {
	a := &Account{
		ID: idStr(v.ID), Username: v.Username, DisplayName: v.DisplayName, Locked: v.Locked, Bot: v.Bot,
		Discoverable: boolPtr(v.Discoverable), Indexable: v.Discoverable, CreatedAt: ts(v.CreatedAt.Truncate(24 * time.Hour)),
		StatusesCount: v.StatusesCount, FollowersCount: v.FollowersCount, FollowingCount: v.FollowingCount,
		Fields: []Field{}, Emojis: []Emoji{}, Roles: []any{}, Avatar: v.AvatarURL, Header: v.HeaderURL,
	}
	if v.LastStatusAt != nil {
		d := v.LastStatusAt.UTC().Format("2006-01-02")
		a.LastStatusAt = &d
	}
	if v.Remote != nil {
		a.Acct = v.Username + "@" + v.Domain
		a.URI = v.Remote.URI
		a.URL = v.Remote.URL
		if a.URL == "" {
			a.URL = v.Remote.URI
		}
		a.Note = v.Note                                                                      // sanitised when received
		a.Emojis = remoteEmojis(v.Remote.Emojis, v.DisplayName, v.Note, fieldText(v.Fields)) // statusroutes.go
		a.Group = v.Remote.Type == "Group"
		a.Bot = a.Bot || v.Remote.Type == "Service" || v.Remote.Type == "Application"
	} else {
		l := r.linksFor(v.Domain)
		a.Acct = v.Username
		if v.Domain != r.site.Domain {
			a.Acct = v.Username + "@" + v.Domain
		}
		a.URI, a.URL = l.Actor(v.Username), l.Profile(v.Username)
		a.Note = ap.TextToHTML(v.Note)
	}
	for _, f := range v.Fields {
		value := f.Value
		if v.Remote == nil {
			value = ap.FieldHTML(f.Value)
		}
		a.Fields = append(a.Fields, Field{Name: f.Name, Value: value, VerifiedAt: tsPtr(f.VerifiedAt)})
	}
	if a.Avatar == "" {
		a.Avatar = r.base() + "/avatars/original/missing.png"
	}
	if a.Header == "" {
		a.Header = r.base() + "/headers/original/missing.png"
	}
	a.AvatarStatic, a.HeaderStatic = a.Avatar, a.Header
	a.Moved = r.moved(v) // migration.go
	return a
}

// rejectsMedia reports whether the viewing tenant blocks the media of the
// remote post's domain (federation/domainblock).
func (r *renderer) rejectsMedia(v *federation.StatusView) bool {
	if r.h.Blocks == nil || v.TenantID != 0 || r.site == nil {
		return false
	}
	return r.h.Blocks.Check(r.site.TenantID, ap.HostOf(v.URI)).RejectMedia
}

// base is the viewing site's own URL base.
func (r *renderer) base() string {
	return federation.NewLinks(r.h.URL.Scheme, r.site.Domain, r.h.URL.Port).Base // = httpx.SiteBase
}

// statuses renders hydrated statuses with their accounts and reblogged
// originals: three queries whatever the page size.
func (r *renderer) statuses(views []*federation.StatusView) ([]*Status, error) {
	var origIDs []int64
	for _, v := range views {
		if v.ReblogOfID != 0 {
			origIDs = append(origIDs, v.ReblogOfID)
		}
	}
	origs := map[int64]*federation.StatusView{}
	if len(origIDs) > 0 {
		ov, err := r.h.Views.StatusViews(r.ctx, r.seer, origIDs)
		if err != nil {
			return nil, err
		}
		for _, o := range ov {
			origs[o.ID] = o
		}
	}
	var acctIDs []int64
	add := func(v *federation.StatusView) {
		acctIDs = append(acctIDs, v.AccountID)
		acctIDs = append(acctIDs, v.MentionIDs...)
	}
	for _, v := range views {
		add(v)
	}
	for _, o := range origs {
		add(o)
	}
	accounts, err := r.h.Views.AccountViews(r.ctx, acctIDs)
	if err != nil {
		return nil, err
	}
	rendered := map[int64]*Account{}
	acct := func(id int64) *Account {
		if a, ok := rendered[id]; ok {
			return a
		}
		v, ok := accounts[id]
		if !ok {
			return nil
		}
		a := r.account(v)
		rendered[id] = a
		return a
	}
	out := make([]*Status, 0, len(views))
	for _, v := range views {
		s := r.status(v, acct)
		if s == nil {
			continue
		}
		if v.ReblogOfID != 0 {
			o, ok := origs[v.ReblogOfID]
			if !ok {
				continue // the original is gone or not for this viewer
			}
			s.Reblog = r.status(o, acct)
			if s.Reblog == nil {
				continue
			}
		}
		out = append(out, s)
	}
	if err := r.addCards(out); err != nil { // cards.go
		return nil, err
	}
	if err := r.addQuotes(out, views, origs); err != nil { // quotes.go
		return nil, err
	}
	return r.decorate(out, views, origs, accounts)
}

func (r *renderer) status(v *federation.StatusView, acct func(int64) *Account) *Status {
	author := acct(v.AccountID)
	if author == nil {
		return nil
	}
	s := &Status{
		ID: idStr(v.ID), URI: v.URI, URL: strPtr(v.URL), CreatedAt: ts(v.Published), EditedAt: tsPtr(v.EditedAt),
		Account: author, Content: v.Content, Visibility: string(v.Visibility), Sensitive: v.Sensitive,
		SpoilerText: v.Summary, MediaAttachments: []Attachment{}, Mentions: []Mention{}, Tags: []Tag{},
		Emojis: []Emoji{}, ReblogsCount: v.ReblogsCount, FavouritesCount: v.FavouritesCount,
		RepliesCount: v.RepliesCount, InReplyToID: idPtr(v.InReplyToID), InReplyToAccountID: idPtr(v.InReplyToAccountID),
		Language: strPtr(v.Language),
	}
	if v.ReblogOfID != 0 {
		s.Content, s.SpoilerText, s.Sensitive = "", "", false
	} else if v.TenantID == 0 {
		s.Emojis = remoteEmojis(v.Emojis, v.Content, v.Summary, pollText(v.Poll)) // statusroutes.go
	}
	if s.URL == nil && v.TenantID != 0 {
		u := author.URL + "/" + idStr(v.ID)
		s.URL = &u
	}
	if v.AppName != "" {
		s.Application = &Application{Name: v.AppName, Website: strPtr(v.AppWebsite)}
	}
	for _, id := range v.MentionIDs {
		if m := acct(id); m != nil {
			s.Mentions = append(s.Mentions, Mention{ID: m.ID, Username: m.Username, URL: m.URL, Acct: m.Acct})
		}
	}
	for _, t := range v.Tags {
		s.Tags = append(s.Tags, Tag{Name: t, URL: r.base() + "/tags/" + t})
	}
	if !r.rejectsMedia(v) {
		for i, a := range v.Attachments {
			s.MediaAttachments = append(s.MediaAttachments, renderAttachment(v.ID, i, a))
		}
	}
	if v.Poll != nil {
		s.Poll = r.poll(v) // polls.go
	}
	if r.viewer != 0 {
		s.Favourited, s.Reblogged, s.Bookmarked = boolPtr(v.Favourited), boolPtr(v.Reblogged), boolPtr(v.Bookmarked)
		s.Muted = boolPtr(v.Muted)
		s.Filtered = &[]any{} // decorate.go fills what matched
		if v.AccountID == r.viewer {
			s.Pinned = boolPtr(v.Pinned)
		}
	}
	return s
}

// renderAttachment renders media referenced by URL. Remote media keeps
// its origin's URL (not copied); ids are stable per status and position.
func renderAttachment(statusID int64, i int, a federation.Attachment) Attachment {
	if a.MediaID != 0 {
		return localAttachment(a) // one of our uploads (media.go)
	}
	typ := "unknown"
	switch {
	// A GIF stays an image: gifv is a looping video, and Roost does not
	// convert remote GIFs, so a .gif URL called gifv breaks players.
	case strings.HasPrefix(a.MediaType, "image/") || a.Type == "Image":
		typ = "image"
	case strings.HasPrefix(a.MediaType, "video/") || a.Type == "Video":
		typ = "video"
	case strings.HasPrefix(a.MediaType, "audio/") || a.Type == "Audio":
		typ = "audio"
	}
	out := Attachment{
		ID: idStr(statusID*100 + int64(i)), Type: typ, URL: a.URL, RemoteURL: strPtr(a.URL),
		Description: strPtr(a.Description), Blurhash: strPtr(a.Blurhash), Meta: map[string]any{},
	}
	remotePreview(&out, a) // statusroutes.go: preview_url is always an image, or null
	return out
}

func renderPoll(v *federation.StatusView) *Poll {
	p := &Poll{ID: idStr(v.ID), Multiple: v.Poll.Multiple, Options: []PollOption{}, Emojis: []Emoji{},
		ExpiresAt: tsPtr(v.Poll.EndsAt)}
	if v.Poll.EndsAt != nil && v.Poll.EndsAt.Before(time.Now()) {
		p.Expired = true
	}
	for _, o := range v.Poll.Options {
		n := o.Votes
		p.VotesCount += n
		p.Options = append(p.Options, PollOption{Title: o.Title, VotesCount: &n})
	}
	if v.Poll.Voters > 0 {
		n := v.Poll.Voters
		p.VotersCount = &n
	} else if !p.Multiple {
		n := p.VotesCount
		p.VotersCount = &n
	}
	return p
}

func relationship(r federation.Relationship) Relationship {
	return Relationship{
		ID: idStr(r.ID), Following: r.Following, ShowingReblogs: r.ShowingReblogs, Notifying: r.Notifying,
		Languages: nil, FollowedBy: r.FollowedBy, Blocking: r.Blocking, BlockedBy: r.BlockedBy, Muting: r.Muting,
		MutingNotifications: r.MutingNotifications, Requested: r.Requested, RequestedBy: r.RequestedBy,
		DomainBlocking: r.DomainBlocking, Endorsed: r.Endorsed, Note: r.Note,
	}
}
