package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.NotificationStore = (*Store)(nil)

// notificationWhere is the condition every read of account $1's
// notifications n applies before paging (federation.NotificationQuery),
// with its arguments appended to args (args[0] is the account).
func notificationWhere(q federation.NotificationQuery, args []any) (string, []any) {
	var b strings.Builder
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString("n.account_id = $1")
	if len(q.Types) > 0 {
		b.WriteString(" and n.type = any(" + arg(q.Types) + ")")
	}
	if len(q.Exclude) > 0 {
		b.WriteString(" and n.type <> all(" + arg(q.Exclude) + ")")
	}
	if q.FromAccountID != 0 {
		b.WriteString(" and n.from_account_id = " + arg(q.FromAccountID))
	} else if !q.IncludeFiltered {
		b.WriteString(" and not n.filtered")
	}
	// A status the account may no longer see, a sender it blocks or
	// mutes notifications of, a domain it hides (never the viewing site's
	// own accounts), a sender moderators suspended for it: left out here,
	// before the limit, never after.
	b.WriteString(` and (n.status_id is null or ` + visibleStatus("n.status_id") + `)
		and not exists (select 1 from blocks b where b.account_id = $1 and b.target_id = n.from_account_id)
		and not exists (select 1 from mutes u where u.account_id = $1 and u.target_id = n.from_account_id
			and u.notifications and (u.expires_at is null or u.expires_at > now()))
		and not exists (select 1 from accounts fa join account_domain_blocks d on d.account_id = $1
			where fa.id = n.from_account_id and not (fa.tenant_id is not null and fa.domain = ` + arg(q.SiteDomain) + `)
			and (lower(fa.domain) = d.domain or lower(fa.domain) like '%.' || d.domain))
		and not exists (select 1 from account_limits l where l.account_id = n.from_account_id and l.suspended_at is not null
			and (l.tenant_id is null or l.tenant_id = (select va.tenant_id from accounts va where va.id = $1)))`)
	return b.String(), args
}

const notificationColumns = `n.id, n.type, n.created_at, n.from_account_id, coalesce(n.status_id, 0), coalesce(n.group_key, '')`

func scanNotification(r pgx.CollectableRow) (federation.Notification, error) {
	var n federation.Notification
	err := r.Scan(&n.ID, &n.Type, &n.CreatedAt, &n.FromAccountID, &n.StatusID, &n.GroupKey)
	return n, err
}

// Notifications pages a local account's notifications; every filter of q
// applies before the limit.
func (s *Store) Notifications(ctx context.Context, accountID int64, q federation.NotificationQuery, p federation.Page) ([]federation.Notification, error) {
	where, args := notificationWhere(q, []any{accountID})
	tail, args := pageSQL("n.id", p, len(args)+1, args)
	rows, err := s.db.Query(ctx, `select `+notificationColumns+` from notifications n where `+where+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanNotification)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// groupKeyOf is the key notification n is grouped by, the types in
// grouped ($g) sharing their stored key, any other alone.
func groupKeyOf(g string) string {
	return `(case when n.group_key is not null and n.type = any(` + g + `) then n.group_key else '` +
		federation.UngroupedPrefix + `' || n.id end)`
}

// groupWalk selects the representatives of up to p.Limit distinct groups:
// walking from the newest notification down (with MinID: from the oldest
// up), each next one whose group is not yet on the page, as Mastodon's
// paginate_groups does; every step is one index probe.
func groupWalk(q federation.NotificationQuery, grouped []string, p federation.Page, accountID int64) (string, []any) {
	where, args := notificationWhere(q, []any{accountID})
	args = append(args, grouped)
	key := groupKeyOf("$" + strconv.Itoa(len(args)))
	op, order := "<", "desc"
	if p.MaxID > 0 {
		args = append(args, p.MaxID)
		where += " and n.id < $" + strconv.Itoa(len(args))
	}
	if p.SinceID > 0 {
		args = append(args, p.SinceID)
		where += " and n.id > $" + strconv.Itoa(len(args))
	}
	if p.MinID > 0 {
		args = append(args, p.MinID)
		where += " and n.id > $" + strconv.Itoa(len(args))
		op, order = ">", "asc"
	}
	args = append(args, max(p.Limit, 1))
	limit := "$" + strconv.Itoa(len(args))
	return `with recursive walk(id, key, seen) as (
		(select n.id, ` + key + `, array[` + key + `] from notifications n where ` + where + ` order by n.id ` + order + ` limit 1)
		union all
		select nx.id, nx.key, w.seen || nx.key from walk w, lateral (
			select n.id, ` + key + ` as key from notifications n
			where ` + where + ` and n.id ` + op + ` w.id and not (` + key + ` = any(w.seen))
			order by n.id ` + order + ` limit 1) nx
		where cardinality(w.seen) < ` + limit + `)`, args
}

// NotificationGroups pages groups of the account's notifications as
// Mastodon's GET /api/v2/notifications.
func (s *Store) NotificationGroups(ctx context.Context, accountID int64, q federation.NotificationQuery, grouped []string, p federation.Page) ([]federation.NotificationGroup, error) {
	walk, args := groupWalk(q, grouped, p, accountID)
	rows, err := s.db.Query(ctx, walk+` select `+notificationColumns+`, w.key from walk w join notifications n on n.id = w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("notification groups: %w", err)
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.NotificationGroup, error) {
		var g federation.NotificationGroup
		n := &g.Notification
		err := r.Scan(&n.ID, &n.Type, &n.CreatedAt, &n.FromAccountID, &n.StatusID, &n.GroupKey, &g.Key)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("notification groups: %w", err)
	}
	slices.SortFunc(groups, func(a, b federation.NotificationGroup) int { return cmp.Compare(b.Notification.ID, a.Notification.ID) })
	if len(groups) == 0 {
		return nil, nil
	}
	lo, hi := groups[len(groups)-1].Notification.ID, groups[0].Notification.ID
	if err := s.fillGroups(ctx, accountID, q, groups, lo, hi); err != nil {
		return nil, err
	}
	return groups, nil
}

// fillGroups completes the page's groups as Mastodon's NotificationGroup:
// for a shared key, its count, newest id, senders and latest time up to
// the page's newest id hi, and its oldest id from the page's oldest lo;
// a notification alone is its own group.
func (s *Store) fillGroups(ctx context.Context, accountID int64, q federation.NotificationQuery, groups []federation.NotificationGroup, lo, hi int64) error {
	var keys []string
	at := map[string]int{}
	for i := range groups {
		g := &groups[i]
		g.Count, g.MostRecentID, g.PageMinID, g.PageMaxID = 1, g.Notification.ID, g.Notification.ID, g.Notification.ID
		g.LatestPageAt, g.SampleAccountIDs = g.Notification.CreatedAt, []int64{g.Notification.FromAccountID}
		if !strings.HasPrefix(g.Key, federation.UngroupedPrefix) {
			keys = append(keys, g.Key)
			at[g.Key] = i
		}
	}
	if len(keys) == 0 {
		return nil
	}
	where, args := notificationWhere(q, []any{accountID})
	args = append(args, keys, hi, lo, federation.NotificationSampleAccounts)
	k, h, l, sample := "$"+strconv.Itoa(len(args)-3), "$"+strconv.Itoa(len(args)-2), "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
	in := ` from notifications n where ` + where + ` and n.group_key = g.key`
	rows, err := s.db.Query(ctx, `select g.key,
		(select count(*)`+in+` and n.id <= `+h+`),
		coalesce((select n.id`+in+` and n.id <= `+h+` order by n.id desc limit 1), 0),
		coalesce((select n.id`+in+` and n.id >= `+l+` order by n.id asc limit 1), 0),
		array(select n.from_account_id`+in+` and n.id <= `+h+` order by n.id desc limit `+sample+`),
		(select n.created_at`+in+` and n.id <= `+h+` order by n.id desc limit 1)
		from unnest(`+k+`::text[]) as g(key)`, args...)
	if err != nil {
		return fmt.Errorf("notification group data: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var count, recent, minID int64
		var sample []int64
		var latest *time.Time
		if err := rows.Scan(&key, &count, &recent, &minID, &sample, &latest); err != nil {
			return fmt.Errorf("notification group data: %w", err)
		}
		g := &groups[at[key]]
		if count > 0 {
			g.Count, g.MostRecentID, g.PageMaxID, g.SampleAccountIDs = count, recent, recent, sample
		}
		if latest != nil {
			g.LatestPageAt = *latest
		}
		if minID > 0 && minID <= g.PageMaxID {
			g.PageMinID = minID
		}
	}
	return rows.Err()
}

// CountNotificationGroups counts up to limit groups above minID (the
// walk's representatives: each step an index probe, never more than limit).
func (s *Store) CountNotificationGroups(ctx context.Context, accountID int64, q federation.NotificationQuery, grouped []string, minID int64, limit int) (int, error) {
	walk, args := groupWalk(q, grouped, federation.Page{MinID: minID, Limit: limit}, accountID)
	var n int
	if err := s.db.QueryRow(ctx, walk+` select count(*) from walk`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count notification groups: %w", err)
	}
	return n, nil
}

// CountNotifications counts up to limit notifications above minID.
func (s *Store) CountNotifications(ctx context.Context, accountID int64, q federation.NotificationQuery, minID int64, limit int) (int, error) {
	where, args := notificationWhere(q, []any{accountID})
	args = append(args, minID, limit)
	var n int
	err := s.db.QueryRow(ctx, `select count(*) from (select 1 from notifications n where `+where+
		` and n.id > $`+strconv.Itoa(len(args)-1)+` limit $`+strconv.Itoa(len(args))+`) c`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return n, nil
}

// keyCondition selects the notifications of group key: one id for an
// ungrouped key (whatever its stored key), else the stored key; ok is
// false for a key that can name nothing.
func keyCondition(key string, args []any) (string, []any, bool) {
	if rest, found := strings.CutPrefix(key, federation.UngroupedPrefix); found {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 {
			return "", args, false
		}
		args = append(args, id)
		return " and n.id = $" + strconv.Itoa(len(args)), args, true
	}
	if key == "" || len(key) > 200 {
		return "", args, false
	}
	args = append(args, key)
	return " and n.group_key = $" + strconv.Itoa(len(args)), args, true
}

// NotificationGroupByKey is one group as a whole: its newest notification
// the representative, counted and sampled over all its members.
func (s *Store) NotificationGroupByKey(ctx context.Context, accountID int64, q federation.NotificationQuery, key string) (*federation.NotificationGroup, error) {
	where, args := notificationWhere(q, []any{accountID})
	cond, args, ok := keyCondition(key, args)
	if !ok {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	rows, err := s.db.Query(ctx, `select `+notificationColumns+` from notifications n where `+where+cond+` order by n.id desc limit 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("notification group: %w", err)
	}
	n, err := pgx.CollectOneRow(rows, scanNotification)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, fmt.Errorf("notification group: %w", err)
	}
	groups := []federation.NotificationGroup{{Key: key, Notification: n}}
	if err := s.fillGroups(ctx, accountID, q, groups, 0, n.ID); err != nil {
		return nil, err
	}
	return &groups[0], nil
}

// NotificationGroupAccounts lists up to limit senders of a group, newest first.
func (s *Store) NotificationGroupAccounts(ctx context.Context, accountID int64, q federation.NotificationQuery, key string, limit int) ([]int64, error) {
	where, args := notificationWhere(q, []any{accountID})
	cond, args, ok := keyCondition(key, args)
	if !ok {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	args = append(args, limit)
	rows, err := s.db.Query(ctx, `select n.from_account_id from notifications n where `+where+cond+
		` order by n.id desc limit $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("notification group accounts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("notification group accounts: %w", err)
	}
	if len(ids) == 0 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return ids, nil
}

// DismissNotificationGroup deletes the account's notifications of a
// group; a key naming none of them is NotFound.
func (s *Store) DismissNotificationGroup(ctx context.Context, accountID int64, key string) error {
	cond, args, ok := keyCondition(key, []any{accountID})
	if !ok {
		return errs.E(errs.NotFound, "Record not found")
	}
	tag, err := s.db.Exec(ctx, `delete from notifications n where n.account_id = $1`+cond, args...)
	if err != nil {
		return fmt.Errorf("dismiss notification group: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// NotificationPolicy is the account's policy (the defaults of migration
// 031 when it never set one) with its pending requests.
func (s *Store) NotificationPolicy(ctx context.Context, accountID int64) (federation.NotificationPolicy, error) {
	var p federation.NotificationPolicy
	err := s.db.QueryRow(ctx, `select coalesce(p.for_not_following, 'accept'), coalesce(p.for_not_followers, 'accept'),
		coalesce(p.for_new_accounts, 'accept'), coalesce(p.for_private_mentions, 'accept'), coalesce(p.for_limited_accounts, 'filter'),
		(select count(distinct from_account_id) from notifications where account_id = $1 and filtered),
		(select count(*) from notifications where account_id = $1 and filtered)
		from (select 1) one left join notification_policies p on p.account_id = $1`, accountID).Scan(
		&p.ForNotFollowing, &p.ForNotFollowers, &p.ForNewAccounts, &p.ForPrivateMentions, &p.ForLimitedAccounts,
		&p.PendingRequests, &p.PendingNotifications)
	if err != nil {
		return p, fmt.Errorf("notification policy: %w", err)
	}
	return p, nil
}

// SetNotificationPolicy stores the account's policy (values checked by
// the use case and the table).
func (s *Store) SetNotificationPolicy(ctx context.Context, accountID int64, p federation.NotificationPolicy) error {
	_, err := s.db.Exec(ctx, `insert into notification_policies (account_id, for_not_following, for_not_followers,
		for_new_accounts, for_private_mentions, for_limited_accounts) values ($1, $2, $3, $4, $5, $6)
		on conflict (account_id) do update set for_not_following = excluded.for_not_following,
		for_not_followers = excluded.for_not_followers, for_new_accounts = excluded.for_new_accounts,
		for_private_mentions = excluded.for_private_mentions, for_limited_accounts = excluded.for_limited_accounts,
		updated_at = now()`, accountID, p.ForNotFollowing, p.ForNotFollowers, p.ForNewAccounts, p.ForPrivateMentions, p.ForLimitedAccounts)
	if err != nil {
		return fmt.Errorf("set notification policy: %w", err)
	}
	return nil
}

// requestSelect reads requests: the filtered notifications by sender,
// less senders the account has since blocked or muted.
const requestSelect = `select n.from_account_id, count(*), max(n.id),
	coalesce((array_agg(n.status_id order by n.id desc) filter (where n.status_id is not null))[1], 0),
	min(n.created_at), max(n.created_at)
	from notifications n where n.account_id = $1 and n.filtered
	and not exists (select 1 from blocks b where b.account_id = $1 and b.target_id = n.from_account_id)
	and not exists (select 1 from mutes u where u.account_id = $1 and u.target_id = n.from_account_id
		and u.notifications and (u.expires_at is null or u.expires_at > now()))`

func scanRequest(r pgx.CollectableRow) (federation.NotificationRequest, error) {
	var q federation.NotificationRequest
	err := r.Scan(&q.FromAccountID, &q.Count, &q.LastID, &q.LastStatusID, &q.CreatedAt, &q.UpdatedAt)
	return q, err
}

// NotificationRequests pages the senders of the account's filtered
// notifications by their newest one.
func (s *Store) NotificationRequests(ctx context.Context, accountID int64, p federation.Page) ([]federation.NotificationRequest, error) {
	args := []any{accountID}
	having := ""
	if p.MaxID > 0 {
		args = append(args, p.MaxID)
		having += " and max(n.id) < $" + strconv.Itoa(len(args))
	}
	if p.SinceID > 0 {
		args = append(args, p.SinceID)
		having += " and max(n.id) > $" + strconv.Itoa(len(args))
	}
	order := "desc"
	if p.MinID > 0 {
		args = append(args, p.MinID)
		having += " and max(n.id) > $" + strconv.Itoa(len(args))
		order = "asc"
	}
	args = append(args, max(p.Limit, 1))
	rows, err := s.db.Query(ctx, requestSelect+` group by n.from_account_id having true`+having+
		` order by max(n.id) `+order+` limit $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("notification requests: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanRequest)
	if err != nil {
		return nil, fmt.Errorf("notification requests: %w", err)
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// NotificationRequest is one sender's filtered notifications, or NotFound.
func (s *Store) NotificationRequest(ctx context.Context, accountID, fromAccountID int64) (*federation.NotificationRequest, error) {
	rows, err := s.db.Query(ctx, requestSelect+` and n.from_account_id = $2 group by n.from_account_id`, accountID, fromAccountID)
	if err != nil {
		return nil, fmt.Errorf("notification request: %w", err)
	}
	r, err := pgx.CollectOneRow(rows, scanRequest)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, fmt.Errorf("notification request: %w", err)
	}
	return &r, nil
}

// AcceptNotificationRequests shows the senders' filtered notifications and
// lets them through from now on, in one transaction.
func (s *Store) AcceptNotificationRequests(ctx context.Context, accountID int64, fromAccountIDs []int64) error {
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `insert into notification_permissions (account_id, from_account_id)
			select distinct $1::bigint, n.from_account_id from notifications n
			where n.account_id = $1 and n.filtered and n.from_account_id = any($2)
			on conflict do nothing`, accountID, fromAccountIDs); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `update notifications set filtered = false
			where account_id = $1 and filtered and from_account_id = any($2)`, accountID, fromAccountIDs)
		return err
	})
	if err != nil {
		return fmt.Errorf("accept notification requests: %w", err)
	}
	return nil
}

// DismissNotificationRequests deletes the senders' filtered notifications;
// the next one from them starts a new request.
func (s *Store) DismissNotificationRequests(ctx context.Context, accountID int64, fromAccountIDs []int64) error {
	if _, err := s.db.Exec(ctx, `delete from notifications where account_id = $1 and filtered and from_account_id = any($2)`,
		accountID, fromAccountIDs); err != nil {
		return fmt.Errorf("dismiss notification requests: %w", err)
	}
	return nil
}
