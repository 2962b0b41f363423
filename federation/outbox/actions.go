package outbox

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Store is what the actions below need from storage.
type Store interface {
	StatusByURI(ctx context.Context, uri string) (*federation.Status, error)
	DeleteStatusByURI(ctx context.Context, uri string, accountID int64) (bool, error)
	EditLocalStatus(ctx context.Context, uri string, accountID int64, e federation.StatusEdit) (*federation.Status, error)
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
	// CanSee reports whether an account may see a status (false when
	// there is no such status).
	CanSee(ctx context.Context, viewerID, statusID int64) (bool, error)
	// RemoteActorByHandle finds a cached remote actor by user and host.
	RemoteActorByHandle(ctx context.Context, user, host string) (*federation.Account, error)
	federation.SocialStore
	federation.PollStore
	federation.OwnActivities
}

// actor is the acting local account with its URLs.
type actor struct {
	*federation.Account
	links federation.Links
	uri   string
}

func (s *Service) actor(ctx context.Context, local *federation.Account) (*actor, error) {
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return nil, err
	}
	return &actor{Account: local, links: links, uri: links.Actor(local.Username)}, nil
}

// send delivers an activity of a to remote inboxes (none: local only).
func (s *Service) send(ctx context.Context, a *actor, kind, id string, object any, to, cc, inboxes []string, express bool) error {
	body, err := json.Marshal(ap.Wrap(kind, id, a.uri, object, to, cc))
	if err != nil {
		return err
	}
	return s.Send.Send(ctx, a.ID, id, body, inboxes, express)
}

// authorInbox is the inbox of a status's remote author, or nil when the
// author is local (local delivery needs no message).
func (s *Service) authorInbox(ctx context.Context, st *federation.Status) ([]string, string, error) {
	author, err := s.Store.AccountByID(ctx, st.AccountID)
	if err != nil {
		return nil, "", err
	}
	if author.Remote == nil {
		return nil, "", nil
	}
	return []string{author.Remote.Inbox}, author.Remote.URI, nil
}

// Like favourites a status and tells a remote author.
func (s *Service) Like(ctx context.Context, local *federation.Account, statusURI string, undo bool) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	st, err := s.seenStatus(ctx, local, statusURI)
	if err != nil {
		return err
	}
	id, err := s.likeID(ctx, a, st.ID)
	if err != nil {
		return err
	}
	inbox, author, err := s.authorInbox(ctx, st)
	if err != nil {
		return err
	}
	like := map[string]any{"id": id, "type": "Like", "actor": a.uri, "object": st.URI}
	if undo {
		if _, err := s.Store.Unfavourite(ctx, local.ID, id, st.ID); err != nil {
			return err
		}
		return s.send(ctx, a, "Undo", id+"/undo", like, []string{author}, nil, inbox, true)
	}
	if err := s.Store.Favourite(ctx, local.ID, st.ID, id); err != nil {
		return err
	}
	return s.send(ctx, a, "Like", id, st.URI, []string{author}, nil, inbox, true)
}

// Boost announces a public or unlisted status to local's followers and
// tells its author.
func (s *Service) Boost(ctx context.Context, local *federation.Account, statusURI string, undo bool) (int64, error) {
	a, err := s.actor(ctx, local)
	if err != nil {
		return 0, err
	}
	st, err := s.seenStatus(ctx, local, statusURI)
	if err != nil {
		return 0, err
	}
	if st.Visibility != federation.Public && st.Visibility != federation.Unlisted {
		return 0, errs.E(errs.Forbidden, "only public and unlisted posts can be boosted")
	}
	had, err := s.Store.BoostBy(ctx, local.ID, st.ID)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return 0, err
	}
	if had != nil && !undo {
		// Boosting twice answers the boost there is and sends nothing
		// again: followers' servers already have its Announce.
		return had.ID, nil
	}
	if had == nil && undo {
		return 0, nil
	}
	inboxes, err := s.Mover.FollowerInboxes(ctx, local.ID)
	if err != nil {
		return 0, err
	}
	authorInbox, author, err := s.authorInbox(ctx, st)
	if err != nil {
		return 0, err
	}
	inboxes = append(inboxes, authorInbox...)
	to, cc := []string{federation.PublicCollection}, []string{a.links.Followers(local.Username), author}
	if undo {
		// The Undo names the Announce by the id it was sent with (older
		// boosts' ids had another shape).
		if _, err := s.Store.DeleteStatusByURI(ctx, had.URI, local.ID); err != nil {
			return 0, err
		}
		announce := map[string]any{"id": had.URI, "type": "Announce", "actor": a.uri, "object": st.URI}
		return 0, s.send(ctx, a, "Undo", had.URI+"/undo", announce, to, cc, inboxes, false)
	}
	r := &federation.Status{AccountID: local.ID, TenantID: local.TenantID, Visibility: federation.Public,
		To: to, Cc: cc, Published: time.Now().UTC()}
	// The Announce id is the boost's own (Mastodon's shape,
	// …/statuses/<boost id>/activity): never the id of a post's Create,
	// not even for a boost of one's own post, and new for a boost after
	// an undone one.
	saved, created, err := s.Store.LocalBoost(ctx, r, st.ID, func(id int64) string { return BoostID(a.uri, id) })
	if err != nil || !created {
		return idOf(saved), err
	}
	if err := s.Store.AddToHomeFeeds(ctx, saved.ID, local.ID, local.TenantID); err != nil {
		return 0, err
	}
	return saved.ID, s.send(ctx, a, "Announce", saved.URI, st.URI, to, cc, inboxes, false)
}

// BoostID is the Announce id of a local account's boost whose status id
// is boostID; CreateID of a local post is its URI with /activity, the
// same shape over the post's own id, so the two never meet.
func BoostID(actorURI string, boostID int64) string {
	return actorURI + "/statuses/" + strconv.FormatInt(boostID, 10) + "/activity"
}

func idOf(st *federation.Status) int64 {
	if st == nil {
		return 0
	}
	return st.ID
}

// likeID is the id of local's like of a status: the one it was sent with
// when there is one, else a new one, so a like after an undone like is a
// new activity (receivers drop an id they have seen).
func (s *Service) likeID(ctx context.Context, a *actor, statusID int64) (string, error) {
	had, err := s.Store.LikeURI(ctx, a.ID, statusID)
	if err != nil || had != "" {
		return had, err
	}
	return a.uri + "#likes/" + strconv.FormatInt(statusID, 10) + "-" + ap.NewToken(), nil
}

// blockID is likeID for blocks.
func (s *Service) blockID(ctx context.Context, a *actor, targetID int64) (string, error) {
	had, err := s.Store.BlockURI(ctx, a.ID, targetID)
	if err != nil || had != "" {
		return had, err
	}
	return a.uri + "#blocks/" + strconv.FormatInt(targetID, 10) + "-" + ap.NewToken(), nil
}

// ownPost is local's own post statusURI: errs.NotFound when there is no
// such post or another account's; a failure to read it (the database
// away) is returned as it is, a 5xx apps retry, never a 404 they take for
// "gone" (soak findings 6 and 12).
func (s *Service) ownPost(ctx context.Context, local *federation.Account, statusURI string) (*federation.Status, error) {
	st, err := s.Store.StatusByURI(ctx, statusURI)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err
	}
	if err != nil || st.AccountID != local.ID {
		return nil, errs.E(errs.NotFound, "no such post of this account")
	}
	return st, nil
}

// Edit replaces the text of local's own post and sends Update.
func (s *Service) Edit(ctx context.Context, local *federation.Account, statusURI, text string) error {
	st, err := s.ownPost(ctx, local, statusURI)
	if err != nil {
		return err
	}
	// Media and poll stay as they are.
	return s.editPost(ctx, local, statusURI, EditPost{Text: text, Summary: st.Summary, Sensitive: st.Sensitive,
		Language: st.Language, Media: st.Attachments}, st.Poll)
}

// EditPost is a new version of a post. Media and Poll replace the post's,
// as on Mastodon: an edit without them removes them. A poll asking the
// same options keeps its votes.
type EditPost struct {
	Text      string
	Summary   string
	Sensitive bool
	Language  string
	Media     []federation.Attachment
	Poll      *NewPoll
}

// EditPost replaces local's own post with a new version (the previous one
// kept in its history) and sends Update to everyone who got it.
func (s *Service) EditPost(ctx context.Context, local *federation.Account, statusURI string, e EditPost) error {
	var poll *federation.Poll
	if e.Poll != nil {
		var err error
		if poll, err = e.Poll.build(time.Now()); err != nil {
			return err
		}
	}
	return s.editPost(ctx, local, statusURI, e, poll)
}

func (s *Service) editPost(ctx context.Context, local *federation.Account, statusURI string, e EditPost, poll *federation.Poll) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(e.Text)
	if text == "" && len(e.Media) == 0 {
		return errs.E(errs.Invalid, "a post needs text")
	}
	if n := utf8.RuneCountInString(text); n > MaxChars {
		return errs.E(errs.Invalid, "a post is at most %d characters (this one is %d)", MaxChars, n)
	}
	if err := checkMedia(e.Media, poll != nil); err != nil {
		return err
	}
	mentions, _, _ := s.resolveMentions(ctx, local, a.links, text)
	now := time.Now().UTC().Truncate(time.Millisecond)
	summary := strings.TrimSpace(e.Summary)
	st, err := s.Store.EditLocalStatus(ctx, statusURI, local.ID, federation.StatusEdit{
		Content: ap.RenderPost(text, mentions, a.links.Base+"/tags/"), Text: text, Summary: summary,
		Sensitive: e.Sensitive || summary != "", Language: e.Language, Tags: ap.FindHashtags(text), At: now,
		Attachments: e.Media, Poll: poll,
	})
	if err != nil {
		return err
	}
	inboxes, err := s.audience(ctx, local, st)
	if err != nil {
		return err
	}
	note := ap.NewNote(st, a.uri, a.links.Profile(local.Username)+"/"+strconv.FormatInt(st.ID, 10))
	return s.send(ctx, a, "Update", st.URI+"#updates/"+strconv.FormatInt(now.UnixMilli(), 10), note, st.To, st.Cc, inboxes, false)
}

// Delete removes local's own post and sends Delete with a Tombstone.
func (s *Service) Delete(ctx context.Context, local *federation.Account, statusURI string) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	st, err := s.ownPost(ctx, local, statusURI)
	if err != nil {
		return err
	}
	inboxes, err := s.audience(ctx, local, st)
	if err != nil {
		return err
	}
	if _, err := s.Store.DeleteStatusByURI(ctx, st.URI, local.ID); err != nil {
		return err
	}
	tomb := map[string]any{"id": st.URI, "type": "Tombstone"}
	return s.send(ctx, a, "Delete", st.URI+"#delete", tomb, st.To, st.Cc, inboxes, false)
}

// audience is where a post of local went: its followers' servers (unless
// direct) and its mentioned actors' inboxes.
func (s *Service) audience(ctx context.Context, local *federation.Account, st *federation.Status) ([]string, error) {
	var inboxes []string
	if st.Visibility != federation.Direct {
		var err error
		if inboxes, err = s.Mover.FollowerInboxes(ctx, local.ID); err != nil {
			return nil, err
		}
	}
	for _, m := range st.Mentions {
		if remote, err := s.Keys.Actor(ctx, m, false); err == nil {
			inboxes = append(inboxes, remote.Remote.Inbox)
		}
	}
	return inboxes, nil
}

// Block blocks target (ending follows both ways) and tells a remote one.
func (s *Service) Block(ctx context.Context, local *federation.Account, target string, undo bool) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	other, uri, inbox, err := s.account(ctx, local, target)
	if err != nil {
		return err
	}
	id, err := s.blockID(ctx, a, other.ID)
	if err != nil {
		return err
	}
	if undo {
		if _, err := s.Store.Unblock(ctx, local.ID, other.ID); err != nil {
			return err
		}
		block := map[string]any{"id": id, "type": "Block", "actor": a.uri, "object": uri}
		return s.send(ctx, a, "Undo", id+"/undo", block, []string{uri}, nil, inbox, true)
	}
	if err := s.Store.Block(ctx, local.ID, other.ID, id); err != nil {
		return err
	}
	return s.send(ctx, a, "Block", id, uri, []string{uri}, nil, inbox, true)
}

// Unfollow ends local's follow of target and tells a remote one.
func (s *Service) Unfollow(ctx context.Context, local *federation.Account, target string) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	other, uri, inbox, err := s.account(ctx, local, target)
	if err != nil {
		return err
	}
	f, err := s.Follows.FollowBetween(ctx, local.ID, other.ID)
	if err != nil {
		return err
	}
	if _, err := s.Follows.DeleteFollow(ctx, local.ID, other.ID); err != nil {
		return err
	}
	follow := map[string]any{"id": f.URI, "type": "Follow", "actor": a.uri, "object": uri}
	return s.send(ctx, a, "Undo", f.URI+"/undo", follow, []string{uri}, nil, inbox, true)
}

// account resolves a handle or URI to an account, its actor URI and (for
// remote ones) its inbox.
func (s *Service) account(ctx context.Context, local *federation.Account, target string) (*federation.Account, string, []string, error) {
	if other, ok, err := s.localTarget(ctx, target); err != nil {
		return nil, "", nil, err
	} else if ok {
		links, err := s.Locals.Links(ctx, other)
		if err != nil {
			return nil, "", nil, err
		}
		return other, links.Actor(other.Username), nil, nil
	}
	a, err := s.actor(ctx, local)
	if err != nil {
		return nil, "", nil, err
	}
	remote, err := s.Resolve(federation.WithActingHost(ctx, hostOf(a.links.Base)), target)
	if err != nil {
		return nil, "", nil, err
	}
	return remote, remote.Remote.URI, []string{remote.Remote.Inbox}, nil
}
