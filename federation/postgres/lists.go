package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.ListStore = (*Store)(nil)

var errNoList = errs.E(errs.NotFound, "Record not found")

const listColumns = `id, account_id, title, replies_policy, exclusive, kind = 'for_you'`

func scanList(row pgx.Row) (federation.List, error) {
	var l federation.List
	err := row.Scan(&l.ID, &l.AccountID, &l.Title, &l.RepliesPolicy, &l.Exclusive, &l.ForYou)
	return l, err
}

func (s *Store) lists(ctx context.Context, query string, args ...any) ([]federation.List, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.List, error) { return scanList(r) })
}

// Lists lists the owner's lists, oldest first, offering the built-in "For
// you" list the first time (once: a deleted one stays deleted).
func (s *Store) Lists(ctx context.Context, ownerID int64) ([]federation.List, error) {
	if _, err := s.db.Exec(ctx, `
		with offer as (insert into for_you_lists (account_id)
			select $1 where exists (select 1 from accounts where id = $1 and tenant_id is not null)
			on conflict do nothing returning account_id)
		insert into lists (account_id, title, replies_policy, exclusive, kind)
		select account_id, $2, 'none', false, 'for_you' from offer
		on conflict do nothing`, ownerID, federation.ForYouTitle); err != nil {
		return nil, fmt.Errorf("offer the For you list: %w", err)
	}
	return s.lists(ctx, `select `+listColumns+` from lists where account_id = $1 order by id`, ownerID)
}

// List loads one of the owner's lists.
func (s *Store) List(ctx context.Context, ownerID, id int64) (*federation.List, error) {
	l, err := scanList(s.db.QueryRow(ctx, `select `+listColumns+` from lists where id = $1 and account_id = $2`, id, ownerID))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return &l, nil
}

// SaveList creates or updates one of the owner's lists; creating past
// MaxLists is refused.
func (s *Store) SaveList(ctx context.Context, ownerID int64, l federation.List) (*federation.List, error) {
	var row pgx.Row
	if l.ID == 0 {
		row = s.db.QueryRow(ctx, `insert into lists (account_id, title, replies_policy, exclusive)
			select $1, $2, $3, $4 where (select count(*) from lists where account_id = $1) < $5
			returning `+listColumns, ownerID, l.Title, l.RepliesPolicy, l.Exclusive, federation.MaxLists)
	} else {
		row = s.db.QueryRow(ctx, `update lists set title = $3, replies_policy = $4, exclusive = $5
			where id = $1 and account_id = $2 returning `+listColumns, l.ID, ownerID, l.Title, l.RepliesPolicy, l.Exclusive)
	}
	out, err := scanList(row)
	switch {
	case err == pgx.ErrNoRows && l.ID == 0:
		return nil, errs.E(errs.Invalid, "Validation failed: you can have at most %d lists", federation.MaxLists)
	case err == pgx.ErrNoRows:
		return nil, errNoList
	case err != nil:
		return nil, pgutil.Invalid(err, "Validation failed: the list is not valid")
	}
	return &out, nil
}

// DeleteList deletes one of the owner's lists.
func (s *Store) DeleteList(ctx context.Context, ownerID, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from lists where id = $1 and account_id = $2`, id, ownerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNoList
	}
	return nil
}

// ListMembers pages a list's members in the order they were added,
// newest first.
func (s *Store) ListMembers(ctx context.Context, ownerID, listID int64, p federation.Page) ([]int64, []int64, error) {
	if p.Limit <= 0 {
		p.Limit = federation.MaxListMembers
	}
	q, args := pageSQL("la.id", p, 3, []any{ownerID, listID})
	return s.pairs(ctx, p, `select la.account_id, la.id from list_accounts la join lists l on l.id = la.list_id
		where l.account_id = $1 and la.list_id = $2`+q, args...)
}

// AddListMembers adds accounts the owner follows or asked to follow.
func (s *Store) AddListMembers(ctx context.Context, ownerID, listID int64, accountIDs []int64) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// Locking the list serialises additions, so its size limit holds.
		var id int64
		var forYou bool
		if err := tx.QueryRow(ctx, `select id, kind = 'for_you' from lists where id = $1 and account_id = $2 for update`,
			listID, ownerID).Scan(&id, &forYou); err != nil {
			return pgutil.NotFound(err, "Record not found")
		}
		if forYou {
			return errs.E(errs.Invalid, "Validation failed: the For you list is ranked from everyone you follow; it takes no members")
		}
		var strangers int
		if err := tx.QueryRow(ctx, `select count(*) from unnest($2::bigint[]) x where not exists (
			select 1 from follows f where f.follower_id = $1 and f.followee_id = x)`, ownerID, accountIDs).Scan(&strangers); err != nil {
			return err
		}
		if strangers > 0 {
			return errs.E(errs.Invalid, "Validation failed: you can only add accounts you follow to a list")
		}
		tag, err := tx.Exec(ctx, `insert into list_accounts (list_id, account_id)
			select $1, x from unnest($2::bigint[]) x on conflict do nothing`, listID, accountIDs)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from list_accounts where list_id = $1`, listID).Scan(&n); err != nil {
			return err
		}
		if n > federation.MaxListMembers {
			return errs.E(errs.Invalid, "Validation failed: a list has at most %d accounts", federation.MaxListMembers)
		}
		return nil
	})
}

// RemoveListMembers takes accounts off one of the owner's lists.
func (s *Store) RemoveListMembers(ctx context.Context, ownerID, listID int64, accountIDs []int64) error {
	if _, err := s.List(ctx, ownerID, listID); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `delete from list_accounts la using lists l
		where l.id = la.list_id and l.account_id = $1 and la.list_id = $2 and la.account_id = any($3)`,
		ownerID, listID, accountIDs)
	return err
}

// ListsWith lists the owner's lists holding accountID.
func (s *Store) ListsWith(ctx context.Context, ownerID, accountID int64) ([]federation.List, error) {
	return s.lists(ctx, `select `+listColumns+` from lists l where l.account_id = $1
		and exists (select 1 from list_accounts la where la.list_id = l.id and la.account_id = $2) order by l.id`,
		ownerID, accountID)
}

// ExclusiveMembers lists the accounts on the owner's exclusive lists.
func (s *Store) ExclusiveMembers(ctx context.Context, ownerID int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select distinct la.account_id from list_accounts la join lists l on l.id = la.list_id
		where l.account_id = $1 and l.exclusive`, ownerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ListTimeline pages the owner's home feed narrowed to a list: for each
// member, their newest statuses (statuses_account index) that are in the
// owner's home feed (its primary key), merged. The cost follows the
// members and the page size, not the size of the home feed.
func (s *Store) ListTimeline(ctx context.Context, ownerID int64, l *federation.List, p federation.Page) ([]int64, error) {
	// Replies to oneself (threads) and to the owner always show; others
	// by the list's policy.
	replies := `(s.in_reply_to_uri is null or s.in_reply_to_account_id = s.account_id or s.in_reply_to_account_id = $1`
	switch l.RepliesPolicy {
	case federation.RepliesFollowed:
		replies += ` or exists (select 1 from follows f where f.follower_id = $1
			and f.followee_id = s.in_reply_to_account_id and f.state = 'accepted')`
	case federation.RepliesList:
		replies += ` or exists (select 1 from list_accounts r where r.list_id = $2 and r.account_id = s.in_reply_to_account_id)`
	}
	replies += `)`
	inner, args := pageSQL("s.id", p, 3, []any{ownerID, l.ID})
	order := " order by x.id desc"
	if p.MinID > 0 {
		order = " order by x.id asc"
	}
	return s.ids(ctx, p, `select x.id from list_accounts m join lists ml on ml.id = m.list_id and ml.account_id = $1
		cross join lateral (select s.id from statuses s where s.account_id = m.account_id
			and `+inHome("s.id")+`
			and not (`+hidden+`) and `+visible+` and `+boostedVisible("s.id")+` and `+replies+inner+`) x
		where m.list_id = $2`+order+` limit `+strconv.Itoa(max(p.Limit, 1)), args...)
}
