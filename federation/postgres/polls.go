package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.PollStore = (*Store)(nil)

// Vote records a vote and the poll's new counts in one transaction, the
// status row locked so concurrent votes count one after the other. A poll
// the voter may not see is answered as one that does not exist.
func (s *Store) Vote(ctx context.Context, v federation.Vote) (*federation.Poll, error) {
	var out *federation.Poll
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var raw []byte
		var authorID int64
		err := tx.QueryRow(ctx, `select s.poll, s.account_id from statuses s where s.id = $2 and `+visible+`
			for update of s`, v.AccountID, v.StatusID).Scan(&raw, &authorID)
		if err == pgx.ErrNoRows || (err == nil && raw == nil) {
			return errs.E(errs.NotFound, "this post has no poll")
		}
		if err != nil {
			return err
		}
		poll := &federation.Poll{}
		if err := json.Unmarshal(raw, poll); err != nil {
			return err
		}
		if err := checkVote(poll, v, authorID, time.Now()); err != nil {
			return err
		}
		var before int
		if err := tx.QueryRow(ctx, `select count(*) from poll_votes where status_id = $1 and account_id = $2`,
			v.StatusID, v.AccountID).Scan(&before); err != nil {
			return err
		}
		if before > 0 && !(v.Incremental && poll.Multiple) {
			return errs.E(errs.Invalid, "You have already voted on this poll")
		}
		added := 0
		for _, c := range v.Choices {
			tag, err := tx.Exec(ctx, `insert into poll_votes (status_id, account_id, choice, uri) values ($1, $2, $3, $4)
				on conflict do nothing`, v.StatusID, v.AccountID, c, voteURI(v, c))
			if err != nil {
				return fmt.Errorf("vote: %w", err)
			}
			if tag.RowsAffected() == 1 {
				poll.Options[c].Votes++
				added++
			}
		}
		if added > 0 && before == 0 {
			poll.Voters++
		}
		b, err := json.Marshal(poll)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update statuses set poll = $2 where id = $1`, v.StatusID, b); err != nil {
			return fmt.Errorf("poll counts: %w", err)
		}
		out = poll
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// voteURI names one choice's row: a remote vote's own Note id, or ours
// with the choice appended.
func voteURI(v federation.Vote, choice int) *string {
	if v.URI == "" {
		return nil
	}
	u := v.URI
	if !v.Incremental {
		u += "/" + strconv.Itoa(choice)
	}
	return &u
}

// checkVote applies the rules of a vote that do not need the vote rows.
func checkVote(p *federation.Poll, v federation.Vote, authorID int64, now time.Time) error {
	switch {
	case p.Ended(now):
		return errs.E(errs.Invalid, "The poll has already ended")
	case authorID == v.AccountID:
		return errs.E(errs.Invalid, "You cannot vote in your own poll")
	case len(v.Choices) == 0:
		return errs.E(errs.Invalid, "Choose at least one option")
	case !p.Multiple && len(v.Choices) > 1:
		return errs.E(errs.Invalid, "This poll allows only one choice")
	}
	seen := map[int]bool{}
	for _, c := range v.Choices {
		if c < 0 || c >= len(p.Options) || seen[c] {
			return errs.E(errs.Invalid, "The chosen vote option does not exist")
		}
		seen[c] = true
	}
	return nil
}

// OwnVotes returns the options accountID chose, by status.
func (s *Store) OwnVotes(ctx context.Context, accountID int64, statusIDs []int64) (map[int64][]int, error) {
	out := map[int64][]int{}
	if accountID == 0 || len(statusIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, ownVotesSQL(`$2::bigint[]`), accountID, statusIDs)
	if err != nil {
		return nil, fmt.Errorf("own votes: %w", err)
	}
	return scanOwnVotes(rows)
}

// ownVotesSQL reads account $1's votes on the statuses in the bigint[]
// expression ids (never input).
func ownVotesSQL(ids string) string {
	return `select status_id, array_agg(choice::int order by choice) from poll_votes
		where account_id = $1 and status_id = any(` + ids + `) group by status_id`
}

// scanOwnVotes reads ownVotesSQL's rows, by status.
func scanOwnVotes(rows pgx.Rows) (map[int64][]int, error) {
	defer rows.Close()
	out := map[int64][]int{}
	for rows.Next() {
		var id int64
		var choices []int32
		if err := rows.Scan(&id, &choices); err != nil {
			return nil, err
		}
		for _, c := range choices {
			out[id] = append(out[id], int(c))
		}
	}
	return out, rows.Err()
}

// keepPollVotes carries the counts of the poll being replaced into its
// edit when the question is unchanged; otherwise the old votes go.
func keepPollVotes(ctx context.Context, tx pgx.Tx, statusID int64, old []byte, next *federation.Poll) error {
	var prev *federation.Poll
	if old != nil {
		prev = &federation.Poll{}
		if err := json.Unmarshal(old, prev); err != nil {
			return err
		}
	}
	if next != nil && prev.SameQuestion(next) {
		for i := range next.Options {
			next.Options[i].Votes = prev.Options[i].Votes
		}
		next.Voters = prev.Voters
		return nil
	}
	if _, err := tx.Exec(ctx, `delete from poll_votes where status_id = $1`, statusID); err != nil {
		return fmt.Errorf("reset poll: %w", err)
	}
	return nil
}
