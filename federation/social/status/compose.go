package status

import (
	"context"
	"strconv"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// MaxIdempotencyKey bounds an Idempotency-Key, in bytes.
const MaxIdempotencyKey = 200

// Drafts reads what a new post defaults to and remembers retried posts
// (federation.ClientStore).
type Drafts interface {
	Preferences(ctx context.Context, accountID int64) (federation.Preferences, error)
	IdempotentStatus(ctx context.Context, accountID int64, key string) (int64, error)
	RememberIdempotency(ctx context.Context, accountID int64, key string, statusID int64) error
}

// Draft is a new post as a client asks for it; writing it is
// outbox.Service.Post's, once Compose has settled it.
type Draft struct {
	IdempotencyKey string
	ScheduledAt    string
	Visibility     string // "": the author's default
	Sensitive      *bool  // nil: the author's default
	Language       string // "": the author's default
	InReplyToID    string // "": none; else a status the author may see
	// Attach reads the post's media and poll once the request is known
	// not to be a retry or a scheduled post; nil: none.
	Attach func(ctx context.Context) error
}

// Composed is what a draft becomes: a retry of an earlier post
// (Replay), or the settings to post with.
type Composed struct {
	Replay       int64 // the status an earlier request with the same key created
	Visibility   federation.Visibility
	Sensitive    bool
	Language     string
	InReplyToURI string
}

// Compose settles a draft by me: a retried request (same Idempotency-Key)
// is the earlier post; scheduled posts are refused; unset settings are
// the author's defaults; a reply must be to a post the author may see.
func (s *Service) Compose(ctx context.Context, me *federation.Account, d Draft) (Composed, error) {
	key := strings.TrimSpace(d.IdempotencyKey)
	if len(key) > MaxIdempotencyKey {
		return Composed{}, errs.E(errs.Invalid, "Idempotency-Key is too long")
	}
	if key != "" {
		id, err := s.Drafts.IdempotentStatus(ctx, me.ID, key)
		if err != nil || id != 0 {
			return Composed{Replay: id}, err
		}
	}
	if d.ScheduledAt != "" {
		return Composed{}, errs.E(errs.Invalid, "scheduled posts are not supported on this server")
	}
	if d.Attach != nil {
		if err := d.Attach(ctx); err != nil {
			return Composed{}, err
		}
	}
	prefs, err := s.Drafts.Preferences(ctx, me.ID)
	if err != nil {
		return Composed{}, err
	}
	out := Composed{Visibility: prefs.Privacy, Sensitive: prefs.Sensitive, Language: d.Language}
	if d.Visibility != "" {
		out.Visibility = federation.Visibility(d.Visibility)
	}
	if d.Sensitive != nil {
		out.Sensitive = *d.Sensitive
	}
	if out.Language == "" {
		out.Language = prefs.Language
	}
	if d.InReplyToID != "" {
		id, _ := strconv.ParseInt(d.InReplyToID, 10, 64)
		parent, err := s.Visible(ctx, me.ID, id)
		if err != nil {
			return Composed{}, err
		}
		out.InReplyToURI = parent.URI
	}
	return out, nil
}

// Posted remembers which status a request with an Idempotency-Key
// created, so that its retry returns it.
func (s *Service) Posted(ctx context.Context, me *federation.Account, key string, statusID int64) error {
	if key = strings.TrimSpace(key); key == "" {
		return nil
	}
	return s.Drafts.RememberIdempotency(ctx, me.ID, key, statusID)
}
