package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// Publishing bounds: posts claimed per batch, batches per pass, and the
// lease a claim holds (a worker that dies mid-batch leaves its claims to
// another once it runs out; publishing stays once either way).
const (
	Batch      = 50
	maxBatches = 20
	Lease      = 5 * time.Minute
)

// Due reads what publishing a due post needs.
type Due struct {
	Accounts interface {
		AccountByID(ctx context.Context, id int64) (*federation.Account, error)
	}
	// Views tells whether the author may still see the post it answers.
	Views interface {
		StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
	}
	// Media finds the reserved uploads (media.Service).
	Media interface {
		ForStatus(ctx context.Context, accountID int64, ids []string, statusID int64) ([]*media.Attachment, error)
	}
	// Links gives the author's URLs, for their uploads' addresses.
	Links interface {
		Links(ctx context.Context, a *federation.Account) (federation.Links, error)
	}
}

// Pass publishes the posts due by now, batch after batch while batches
// come back full. A post that fails for good (its author gone, its
// uploads deleted, it breaks a rule) is dropped and logged; one that
// fails otherwise is tried again once its claim runs out.
func (s *Service) Pass(ctx context.Context) error {
	var failed error
	for range maxBatches {
		due, err := s.Store.ClaimDueScheduled(ctx, s.now(), Lease, Batch)
		if err != nil {
			return fmt.Errorf("claim scheduled posts: %w", err)
		}
		for _, st := range due {
			if err := s.publishOne(ctx, st); err != nil {
				failed = errors.Join(failed, err)
			}
		}
		if len(due) < Batch || ctx.Err() != nil {
			break
		}
	}
	return failed
}

// publishOne publishes one claimed post; a panic drops that post alone.
func (s *Service) publishOne(ctx context.Context, st federation.ScheduledStatus) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.drop(ctx, st, fmt.Errorf("panic: %v", r))
		}
	}()
	err = s.publish(ctx, st)
	if err == nil {
		return nil
	}
	switch errs.CodeOf(err) {
	case errs.Conflict: // another worker published it first
		return nil
	case errs.Invalid, errs.NotFound, errs.Forbidden, errs.Gone:
		return s.drop(ctx, st, err)
	}
	return fmt.Errorf("publish scheduled post %d: %w", st.ID, err)
}

func (s *Service) publish(ctx context.Context, st federation.ScheduledStatus) error {
	author, err := s.Due.Accounts.AccountByID(ctx, st.AccountID)
	if err != nil {
		return err
	}
	if !author.Local() || author.MovedTo != "" {
		return errs.E(errs.Gone, "the author can no longer post here")
	}
	replyTo := ""
	if id := st.Params.InReplyToID; id != 0 {
		// As on Mastodon, a reply whose parent is gone is posted alone.
		views, err := s.Due.Views.StatusViews(ctx, author.ID, []int64{id})
		if err != nil {
			return err
		}
		if len(views) == 1 {
			replyTo = views[0].URI
		}
	}
	attachments, err := s.media(ctx, author, st.Params.MediaIDs)
	if err != nil {
		return err
	}
	_, err = s.Poster.PostScheduled(ctx, author, st, replyTo, attachments)
	return err
}

// media loads the reserved uploads in their Federation form.
func (s *Service) media(ctx context.Context, author *federation.Account, ids []int64) ([]federation.Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	raw := make([]string, len(ids))
	for i, id := range ids {
		raw[i] = strconv.FormatInt(id, 10)
	}
	as, err := s.Due.Media.ForStatus(ctx, author.ID, raw, 0)
	if err != nil {
		return nil, err
	}
	links, err := s.Due.Links.Links(ctx, author)
	if err != nil {
		return nil, err
	}
	out := make([]federation.Attachment, len(as))
	for i, a := range as {
		out[i] = a.Federation(links.Base)
	}
	return out, nil
}

// drop deletes a post that can never be published, saying why.
func (s *Service) drop(ctx context.Context, st federation.ScheduledStatus, why error) error {
	if s.Log != nil {
		s.Log.Warn("scheduled post dropped: it cannot be published", "id", st.ID, "account", st.AccountID,
			slog.String("err", why.Error()))
	}
	return s.Store.DropScheduled(ctx, st.ID)
}
