package outbox

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Poll limits of local posts, as on Mastodon.
const (
	MaxPollOptions     = 4
	MaxPollOptionChars = 50
	MinPollExpiry      = 5 * time.Minute
	MaxPollExpiry      = 30 * 24 * time.Hour
	// MaxMedia is how many attachments one post may carry.
	MaxMedia = 4
)

// NewPoll is a poll a local post asks.
type NewPoll struct {
	Options    []string
	ExpiresIn  time.Duration
	Multiple   bool
	HideTotals bool
}

// build validates the poll and makes it, ending ExpiresIn after now.
func (p *NewPoll) build(now time.Time) (*federation.Poll, error) {
	if n := len(p.Options); n < 2 || n > MaxPollOptions {
		return nil, errs.E(errs.Invalid, "a poll has 2 to %d options (this one has %d)", MaxPollOptions, n)
	}
	if p.ExpiresIn < MinPollExpiry || p.ExpiresIn > MaxPollExpiry {
		return nil, errs.E(errs.Invalid, "a poll lasts from %d seconds to %d days", int(MinPollExpiry.Seconds()), int(MaxPollExpiry.Hours()/24))
	}
	end := now.Add(p.ExpiresIn).UTC().Truncate(time.Second)
	poll := &federation.Poll{Multiple: p.Multiple, EndsAt: &end, HideTotals: p.HideTotals}
	seen := map[string]bool{}
	for _, o := range p.Options {
		o = strings.TrimSpace(o)
		switch n := utf8.RuneCountInString(o); {
		case n == 0:
			return nil, errs.E(errs.Invalid, "a poll option cannot be empty")
		case n > MaxPollOptionChars:
			return nil, errs.E(errs.Invalid, "a poll option is at most %d characters", MaxPollOptionChars)
		case !utf8.ValidString(o) || seen[o]:
			return nil, errs.E(errs.Invalid, "poll options must be distinct")
		}
		seen[o] = true
		poll.Options = append(poll.Options, federation.PollOption{Title: o})
	}
	return poll, nil
}

// checkMedia applies the rules shared by posting and editing.
func checkMedia(media []federation.Attachment, poll bool) error {
	if len(media) > MaxMedia {
		return errs.E(errs.Invalid, "a post can have at most %d media attachments", MaxMedia)
	}
	if len(media) > 0 && poll {
		return errs.E(errs.Invalid, "a post cannot have both media and a poll")
	}
	return nil
}

// Vote records local's choices on a poll and, when the poll is remote,
// tells its author: one Create of a Note per choice, named after the
// option and in reply to the poll, as Mastodon votes.
func (s *Service) Vote(ctx context.Context, local *federation.Account, statusURI string, choices []int) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	st, err := s.seenStatus(ctx, local, statusURI)
	if err != nil {
		return err
	}
	if st.Poll == nil {
		return errs.E(errs.NotFound, "this post has no poll")
	}
	id := a.uri + "#votes/" + strconv.FormatInt(st.ID, 10)
	if _, err := s.Store.Vote(ctx, federation.Vote{StatusID: st.ID, AccountID: local.ID, Choices: choices, URI: id}); err != nil {
		return err
	}
	inbox, author, err := s.authorInbox(ctx, st)
	if err != nil || inbox == nil {
		return err // a local poll is counted already
	}
	for _, c := range choices {
		noteID := id + "/" + strconv.Itoa(c)
		note := map[string]any{"id": noteID, "type": "Note", "name": st.Poll.Options[c].Title,
			"attributedTo": a.uri, "to": []string{author}, "inReplyTo": st.URI}
		if err := s.send(ctx, a, "Create", noteID+"/activity", note, []string{author}, nil, inbox, true); err != nil {
			return err
		}
	}
	return nil
}
