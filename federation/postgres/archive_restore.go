package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/pgutil"
)

// RestoreRows restores one batch of an archive's blocks, mutes, lists or
// bookmarks in one transaction, idempotently, within the client API's own
// limits (lists per account, members per list, title length). Accounts
// are found by user@domain among known accounts; statuses by URI (as
// Mastodon's import does: URLs are not indexed, and a row each would scan
// every post) among those the account may see, or by the original URI of
// its own imported post. A row that cannot be restored is skipped with a reason,
// the same whether a status is missing or hidden from the account, so an
// import tells nothing about posts one may not see.
func (s *Store) RestoreRows(ctx context.Context, local *federation.Account, kind archive.Kind, rows [][]string) (restored int, skipped []string, err error) {
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		restored, skipped = 0, nil
		r := &restorer{ctx: ctx, tx: tx, local: local, lists: map[string]int64{}}
		for _, row := range rows {
			reason, err := r.row(kind, row)
			if err != nil {
				return err
			}
			if reason != "" {
				skipped = append(skipped, reason)
				continue
			}
			restored++
		}
		return nil
	})
	return restored, skipped, err
}

// restorer restores the rows of one batch.
type restorer struct {
	ctx   context.Context
	tx    pgx.Tx
	local *federation.Account
	lists map[string]int64 // title → id, within the batch
}

// row restores one row, or says why it is skipped.
func (r *restorer) row(kind archive.Kind, row []string) (string, error) {
	switch kind {
	case archive.Blocks:
		return r.relate("block", row[0], `insert into blocks (account_id, target_id) values ($1, $2) on conflict do nothing`)
	case archive.Mutes:
		notify := len(row) < 2 || !strings.EqualFold(row[1], "false")
		return r.relate("mute", row[0], `insert into mutes (account_id, target_id, notifications) values ($1, $2, $3)
			on conflict do nothing`, notify)
	case archive.Lists:
		return r.listMember(row[0], row[1])
	case archive.Bookmarks:
		return r.bookmark(row[0])
	case archive.DomainBlocks:
		return r.domainBlock(row[0]) // archive_lone.go
	}
	return "", fmt.Errorf("restore: unknown kind %q", kind)
}

// accountID finds a known account by user@domain; the domain is compared
// as stored (lower case), so the username index serves the lookup.
func (r *restorer) accountID(addr string) (int64, bool, error) {
	user, domain, ok := strings.Cut(strings.TrimPrefix(addr, "@"), "@")
	if !ok || user == "" || domain == "" || len(addr) > 500 {
		return 0, false, nil
	}
	var id int64
	err := r.tx.QueryRow(r.ctx, `select id from accounts where lower(username) = lower($1) and domain = lower($2)
		order by tenant_id nulls last limit 1`, user, domain).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	return id, err == nil, err
}

// relate links the account to the one at addr with q ($1 the account, $2
// the other, then extra).
func (r *restorer) relate(what, addr, q string, extra ...any) (string, error) {
	id, ok, err := r.accountID(addr)
	if err != nil {
		return "", err
	}
	if !ok || id == r.local.ID {
		return what + " " + addr + ": unknown account", nil
	}
	if _, err := r.tx.Exec(r.ctx, q, append([]any{r.local.ID, id}, extra...)...); err != nil {
		return "", fmt.Errorf("%s %s: %w", what, addr, err)
	}
	return "", nil
}

// listMember adds the account at addr to the list titled title, creating
// the list while the account has fewer than federation.MaxLists.
func (r *restorer) listMember(title, addr string) (string, error) {
	what := "list " + title
	if n := utf8.RuneCountInString(title); n < 1 || n > 200 {
		return what + ": a list title is 1 to 200 characters", nil
	}
	id, ok, err := r.accountID(addr)
	if err != nil || !ok || id == r.local.ID {
		return what + " " + addr + ": unknown account", err
	}
	listID, err := r.list(title)
	if err != nil || listID == 0 {
		return fmt.Sprintf("%s: you can have at most %d lists", what, federation.MaxLists), err
	}
	tag, err := r.tx.Exec(r.ctx, `insert into list_accounts (list_id, account_id)
		select $1, $2 where (select count(*) from list_accounts where list_id = $1) < $3
		on conflict do nothing`, listID, id, federation.MaxListMembers)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, addr, err)
	}
	if tag.RowsAffected() == 0 {
		var member bool
		if err := r.tx.QueryRow(r.ctx, `select exists (select 1 from list_accounts where list_id = $1 and account_id = $2)`,
			listID, id).Scan(&member); err != nil || !member {
			return fmt.Sprintf("%s: a list has at most %d accounts", what, federation.MaxListMembers), err
		}
	}
	return "", nil
}

// list finds or creates the account's list titled title (0: the account
// has MaxLists already).
func (r *restorer) list(title string) (int64, error) {
	if id, ok := r.lists[title]; ok {
		return id, nil
	}
	var id int64
	err := r.tx.QueryRow(r.ctx, `select id from lists where account_id = $1 and title = $2 order by id limit 1`, r.local.ID, title).Scan(&id)
	if err == pgx.ErrNoRows {
		// The account row is locked so concurrent restores count alike.
		err = r.tx.QueryRow(r.ctx, `with me as (select id from accounts where id = $1 for no key update)
			insert into lists (account_id, title) select $1, $2 from me
			where (select count(*) from lists where account_id = $1) < $3 returning id`, r.local.ID, title, federation.MaxLists).Scan(&id)
		if err == pgx.ErrNoRows {
			return 0, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("list %q: %w", title, err)
	}
	r.lists[title] = id
	return id, nil
}

// bookmark bookmarks the status at uri if the account may see it (the
// one visibility rule, views.go), or its own imported post first known
// by that URI. Missing and hidden statuses read the same.
func (r *restorer) bookmark(uri string) (string, error) {
	var found bool
	err := r.tx.QueryRow(r.ctx, `with t as (
			(select s.id from statuses s where s.uri = $2 and `+visible+` limit 1)
			union all
			(select status_id from imported_statuses where account_id = $1 and original_uri = $2)
			limit 1),
		ins as (insert into bookmarks (account_id, status_id) select $1, id from t on conflict do nothing)
		select exists (select 1 from t)`, r.local.ID, uri).Scan(&found)
	if err != nil {
		return "", fmt.Errorf("bookmark %s: %w", uri, err)
	}
	if !found {
		return "bookmark " + uri + ": unknown status", nil
	}
	return "", nil
}
