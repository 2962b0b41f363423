package federation

import (
	"context"
	"time"
)

// Vote is one account's answer to a poll: the indexes of the options it
// chose.
type Vote struct {
	StatusID  int64
	AccountID int64
	Choices   []int
	// URI identifies the vote as an object: a remote voter's Note id (a
	// redelivery then counts once), or the Note we send for a local
	// account's vote on a remote poll (one per choice: URI + "/<choice>").
	URI string
	// Incremental is a remote vote: servers send one activity per choice
	// of a multiple-choice poll, so a further choice by the same voter
	// adds to their vote instead of being refused as a second vote.
	Incremental bool
}

// PollStore records votes.
type PollStore interface {
	// Vote records v and, in the same transaction, the poll's counts. It
	// refuses (errs.Invalid) a vote on an ended poll, on one's own poll, a
	// second vote, an unknown option, several choices on a single-choice
	// poll; errs.NotFound when the status has no poll. It returns the
	// poll with its new counts.
	Vote(ctx context.Context, v Vote) (*Poll, error)
	// OwnVotes returns, by status, the options accountID chose.
	OwnVotes(ctx context.Context, accountID int64, statusIDs []int64) (map[int64][]int, error)
}

// Ended reports whether the poll is closed at now.
func (p *Poll) Ended(now time.Time) bool { return p.EndsAt != nil && !p.EndsAt.After(now) }

// SameQuestion reports whether q asks what p asks: the same options in the
// same order, with the same choice mode (an edit that keeps the votes).
func (p *Poll) SameQuestion(q *Poll) bool {
	if p == nil || q == nil || p.Multiple != q.Multiple || len(p.Options) != len(q.Options) {
		return false
	}
	for i := range p.Options {
		if p.Options[i].Title != q.Options[i].Title {
			return false
		}
	}
	return true
}
