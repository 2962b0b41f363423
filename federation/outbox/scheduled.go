package outbox

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Scheduled posts (federation/social/schedule): checked by Post's rules
// when scheduled, published through Post when due.

// CheckScheduled applies Post's rules to a post scheduled for later, so
// a post that could never be published is refused at once (422), not
// dropped when due. media is how many uploads it carries.
func (s *Service) CheckScheduled(p federation.ScheduledParams, media int) error {
	text := strings.TrimSpace(p.Text)
	if text == "" && media == 0 {
		return errs.E(errs.Invalid, "a post needs text")
	}
	if n := utf8.RuneCountInString(text); n > MaxChars {
		return errs.E(errs.Invalid, "a post is at most %d characters (this one is %d)", MaxChars, n)
	}
	if err := checkMedia(make([]federation.Attachment, media), p.Poll != nil); err != nil {
		return err
	}
	if np := newPoll(p.Poll); np != nil {
		if _, err := np.build(time.Now()); err != nil {
			return err
		}
	}
	switch p.Visibility {
	case "", federation.Public, federation.Unlisted, federation.Private, federation.Direct:
		return nil
	}
	return errs.E(errs.Invalid, "visibility must be public, unlisted, private or direct")
}

// PostScheduled publishes a due scheduled post of author as if posted
// now. The scheduled row is consumed in the status's transaction: when
// another worker published it first, this fails with errs.Conflict and
// posts nothing.
func (s *Service) PostScheduled(ctx context.Context, author *federation.Account, st federation.ScheduledStatus,
	inReplyToURI string, media []federation.Attachment) (*federation.Status, error) {
	p := st.Params
	return s.Post(ctx, author, NewPost{Text: p.Text, Summary: p.SpoilerText, Sensitive: p.Sensitive,
		Visibility: p.Visibility, Language: p.Language, InReplyToURI: inReplyToURI, ApplicationID: p.ApplicationID,
		Media: media, Poll: newPoll(p.Poll), ScheduledID: st.ID})
}

func newPoll(p *federation.ScheduledPoll) *NewPoll {
	if p == nil {
		return nil
	}
	return &NewPoll{Options: p.Options, ExpiresIn: time.Duration(p.ExpiresIn) * time.Second,
		Multiple: p.Multiple, HideTotals: p.HideTotals}
}
