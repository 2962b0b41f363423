package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.ConversationStore = (*Store)(nil)

func scanConversation(r pgx.Row) (federation.Conversation, error) {
	var c federation.Conversation
	err := r.Scan(&c.ID, &c.ParticipantIDs, &c.LastStatusID, &c.Unread)
	return c, err
}

// Conversations pages the account's conversations by their last status,
// leaving out (before paging) those whose last status it may not see.
func (s *Store) Conversations(ctx context.Context, accountID int64, p federation.Page) ([]federation.Conversation, error) {
	q, args := pageSQL("c.last_status_id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select c.id, c.participant_ids, c.last_status_id, c.unread from account_conversations c
		where c.account_id = $1 and `+visibleStatus("c.last_status_id")+q, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.Conversation, error) { return scanConversation(r) })
	if err != nil {
		return nil, err
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// Conversation loads one of the account's conversations.
func (s *Store) Conversation(ctx context.Context, accountID, id int64) (*federation.Conversation, error) {
	c, err := scanConversation(s.db.QueryRow(ctx, `select id, participant_ids, last_status_id, unread
		from account_conversations where id = $1 and account_id = $2`, id, accountID))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return &c, nil
}

// ConversationWithStatus finds the account's conversation whose last
// status is statusID.
func (s *Store) ConversationWithStatus(ctx context.Context, accountID, statusID int64) (*federation.Conversation, error) {
	c, err := scanConversation(s.db.QueryRow(ctx, `select id, participant_ids, last_status_id, unread
		from account_conversations where account_id = $1 and last_status_id = $2`, accountID, statusID))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return &c, nil
}

// MarkConversationRead marks one of the account's conversations read.
func (s *Store) MarkConversationRead(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `update account_conversations set unread = false where id = $1 and account_id = $2`, id, accountID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// DeleteConversation removes one of the account's conversations.
func (s *Store) DeleteConversation(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from account_conversations where id = $1 and account_id = $2`, id, accountID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}
