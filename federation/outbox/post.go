package outbox

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Publisher stores a local status with its local and remote fan-out in one
// transaction (federation/postgres implements it).
type Publisher interface {
	Publish(ctx context.Context, st *federation.Status, uriFor func(id int64) string,
		render func(*federation.Status) (string, []byte, error)) (*federation.Status, []int64, error)
}

// Dispatcher hands committed delivery rows to the workers.
type Dispatcher interface {
	Dispatch(ctx context.Context, express bool, ids []int64) error
}

// MaxChars is the longest post accepted, as on Mastodon.
const MaxChars = 500

// NewPost is what a local account posts.
type NewPost struct {
	Text         string
	Summary      string // content warning
	Sensitive    bool
	Visibility   federation.Visibility
	Language     string
	InReplyToURI string
	// ApplicationID is the OAuth app posting (zero from the command line).
	ApplicationID int64
	// Media are the poster's uploads to attach (media.Attachment's
	// Federation form), at most MaxMedia; Poll a poll to ask. A post has
	// one or the other, and needs no text when it has media.
	Media []federation.Attachment
	Poll  *NewPoll
	// ScheduledID is the scheduled post this publishes (scheduled.go).
	ScheduledID int64
	// IdempotencyKey is the client's Idempotency-Key, remembered with the
	// post in one transaction.
	IdempotencyKey string
	// Quote is the post this one quotes and who may quote it (quote.go).
	Quote PostQuote
}

// Post publishes a status of local: stored, delivered locally and queued
// for every remote follower's server before it returns.
func (s *Service) Post(ctx context.Context, local *federation.Account, p NewPost) (*federation.Status, error) {
	text := strings.TrimSpace(p.Text)
	if text == "" && len(p.Media) == 0 {
		return nil, errs.E(errs.Invalid, "a post needs text")
	}
	if n := utf8.RuneCountInString(text); n > MaxChars {
		return nil, errs.E(errs.Invalid, "a post is at most %d characters (this one is %d)", MaxChars, n)
	}
	if err := checkMedia(p.Media, p.Poll != nil); err != nil {
		return nil, err
	}
	var poll *federation.Poll
	if p.Poll != nil {
		var err error
		if poll, err = p.Poll.build(time.Now()); err != nil {
			return nil, err
		}
	}
	switch p.Visibility {
	case "":
		p.Visibility = federation.Public
	case federation.Public, federation.Unlisted, federation.Private, federation.Direct:
	default:
		return nil, errs.E(errs.Invalid, "visibility must be public, unlisted, private or direct")
	}
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return nil, err
	}
	me := links.Actor(local.Username)
	mentions, localIDs, mentionIDs := s.resolveMentions(ctx, local, links, text)
	st := &federation.Status{
		AccountID: local.ID, TenantID: local.TenantID, Content: ap.RenderPost(text, mentions, links.Base+"/tags/"),
		Summary: strings.TrimSpace(p.Summary), Tags: ap.FindHashtags(text), LocalMentionIDs: localIDs,
		Sensitive: p.Sensitive || strings.TrimSpace(p.Summary) != "", Visibility: p.Visibility, Language: p.Language,
		InReplyToURI: p.InReplyToURI, Published: time.Now().UTC().Truncate(time.Second),
		MentionIDs: mentionIDs, Text: text, ApplicationID: p.ApplicationID, Attachments: p.Media, Poll: poll,
		ScheduledID: p.ScheduledID, IdempotencyKey: strings.TrimSpace(p.IdempotencyKey),
		// Stored by the post's own insert (empty: the author's default);
		// render's quote.apply sets the same again for the activity.
		QuotePolicy: p.Quote.Policy,
	}
	if p.InReplyToURI != "" {
		// A reply mentions the author of the post it answers, who gets it;
		// one can only answer a post one may see.
		parent, err := s.seenStatus(ctx, local, p.InReplyToURI)
		if err != nil {
			return nil, err
		}
		author, err := s.Store.AccountByID(ctx, parent.AccountID)
		if err != nil {
			return nil, err
		}
		if author.Remote != nil && !slices.Contains(st.Mentions, author.Remote.URI) {
			st.Mentions = append(st.Mentions, author.Remote.URI)
		}
		if author.ID != local.ID && !slices.Contains(st.MentionIDs, author.ID) {
			st.MentionIDs = append(st.MentionIDs, author.ID)
			if author.Local() {
				st.LocalMentionIDs = append(st.LocalMentionIDs, author.ID)
			}
		}
	}
	for _, m := range mentions {
		if m.URI != "" && !slices.Contains(st.Mentions, m.URI) {
			st.Mentions = append(st.Mentions, m.URI)
		}
	}
	st.To, st.Cc = ap.Addressing(p.Visibility, links.Followers(local.Username), st.Mentions)
	uriFor := func(id int64) string { return me + "/statuses/" + strconv.FormatInt(id, 10) }
	render := func(st *federation.Status) (string, []byte, error) {
		if err := p.Quote.apply(ctx, st); err != nil { // quote.go
			return "", nil, err
		}
		url := links.Profile(local.Username) + "/" + st.URI[strings.LastIndexByte(st.URI, '/')+1:]
		id := st.URI + "/activity"
		body, err := json.Marshal(ap.Wrap("Create", id, me, ap.NewNote(st, me, url), st.To, st.Cc))
		return id, body, err
	}
	saved, ids, err := s.Publisher.Publish(ctx, st, uriFor, render)
	if err != nil {
		return nil, err
	}
	// A failed dispatch loses nothing: the committed rows are swept up and
	// dispatched by the workers.
	_ = s.Dispatch.Dispatch(ctx, saved.Visibility == federation.Direct || saved.InReplyToURI != "", ids)
	return saved, nil
}

// resolveMentions resolves the @mentions of a post: local accounts (on any
// tenant; a bare @name is on the poster's domain) and remote ones through
// WebFinger. Unresolvable mentions stay plain text.
func (s *Service) resolveMentions(ctx context.Context, local *federation.Account, links federation.Links, text string) ([]ap.Mention, []int64, []int64) {
	mentions := ap.FindMentions(text)
	var localIDs, allIDs []int64
	for i, m := range mentions {
		host := m.Host
		if host == "" {
			host = local.Domain
		}
		if acct, err := s.Locals.ByHandle(ctx, m.Username, host); err == nil {
			if l, err := s.Locals.Links(ctx, acct); err == nil {
				mentions[i].URI, mentions[i].URL = l.Actor(acct.Username), l.Profile(acct.Username)
				localIDs = append(localIDs, acct.ID)
				allIDs = append(allIDs, acct.ID)
			}
			continue
		}
		if m.Host == "" {
			continue
		}
		remote, err := s.Resolve(federation.WithActingHost(ctx, hostOf(links.Base)), m.Username+"@"+m.Host)
		if err == nil {
			mentions[i].URI, mentions[i].URL = remote.Remote.URI, remote.Remote.URL
			allIDs = append(allIDs, remote.ID)
		}
	}
	return mentions, localIDs, allIDs
}
