package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
)

var _ federation.ViewStore = (*Store)(nil)

// visible is the one rule of who may see a status s, for viewer $1 (0 is
// anonymous, below zero someone signed out on a tenant's domains:
// federation.SignedOut): public and unlisted posts anyone (unless the author blocks
// the viewer), others their author, the accounts they mention, and for
// followers-only posts the author's accepted followers — whatever tenant
// each is on; never a remote post the viewer's tenant's moderators hid
// (tenant_hidden_statuses: a tenant hides, only operators delete), nor a
// post of an account suspended for the viewer's tenant or the instance
// (account_limits: as in Mastodon, a suspended account's posts leave
// every timeline, thread and lookup, not only the public ones).
const visible = `(s.account_id = $1 or (
	not exists (select 1 from blocks b where b.account_id = s.account_id and b.target_id = $1) and
	not exists (select 1 from account_limits sl where sl.account_id = s.account_id and sl.suspended_at is not null
		and (sl.tenant_id is null or sl.tenant_id = coalesce((select va.tenant_id from accounts va where va.id = $1), -$1))) and
	not exists (select 1 from tenant_hidden_statuses th where th.status_id = s.id
		and th.tenant_id = coalesce((select va.tenant_id from accounts va where va.id = $1), -$1)) and (
		s.visibility in ('public', 'unlisted')
		or exists (select 1 from status_mentions m where m.status_id = s.id and m.account_id = $1)
		or (s.visibility = 'private' and exists (select 1 from follows f
			where f.follower_id = $1 and f.followee_id = s.account_id and f.state = 'accepted')))))`

// hiddenOnTimeline drops from a tenant's ($2) timeline t the remote posts
// its moderators hid for it (tenant_hidden_statuses).
const hiddenOnTimeline = ` and not exists (select 1 from tenant_hidden_statuses th
	where th.status_id = t.status_id and th.tenant_id = $2)`

// hidden drops statuses by accounts the viewer ($1) blocks or mutes.
const hidden = `exists (select 1 from blocks b where b.account_id = $1 and b.target_id = s.account_id)
	or exists (select 1 from mutes u where u.account_id = $1 and u.target_id = s.account_id
		and (u.expires_at is null or u.expires_at > now()))`

// pageSQL appends Mastodon's paging to a query whose cursor column is col
// (conditions joined with and), with its arguments numbered from next;
// with MinID it reads upwards (and the caller reverses).
func pageSQL(col string, p federation.Page, next int, args []any) (string, []any) {
	var b strings.Builder
	if p.MaxID > 0 {
		fmt.Fprintf(&b, " and %s < $%d", col, next)
		args = append(args, p.MaxID)
		next++
	}
	if p.SinceID > 0 {
		fmt.Fprintf(&b, " and %s > $%d", col, next)
		args = append(args, p.SinceID)
		next++
	}
	if p.MinID > 0 {
		fmt.Fprintf(&b, " and %s > $%d order by %s asc", col, next, col)
		args = append(args, p.MinID)
	} else {
		fmt.Fprintf(&b, " order by %s desc", col)
	}
	b.WriteString(" limit " + strconv.Itoa(max(p.Limit, 1)))
	return b.String(), args
}

// ids runs a paged id query and returns newest first.
func (s *Store) ids(ctx context.Context, p federation.Page, query string, args ...any) ([]int64, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// StatusViews hydrates statuses in the order of ids, leaving out those the
// viewer may not see.
func (s *Store) StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, statusViewsSQL(`unnest($2::bigint[])`), viewerID, ids)
	if err != nil {
		return nil, fmt.Errorf("status views: %w", err)
	}
	return scanStatusViews(rows)
}

// statusViewsSQL reads the status views of the ids in the bigint[]
// expression ids (never input), in its order, for viewer $1.
func statusViewsSQL(ids string) string {
	return `select ` + statusColumns + `, coalesce(reblog_of_id, 0), coalesce(in_reply_to_id, 0),
		coalesce(in_reply_to_account_id, 0), coalesce(text, ''),
		coalesce((select name from oauth_apps where oauth_apps.id = s.application_id), ''),
		coalesce((select website from oauth_apps where oauth_apps.id = s.application_id), ''),
		coalesce(st.replies_count, 0), coalesce(st.reblogs_count, 0), coalesce(st.favourites_count, 0),
		array(select account_id from status_mentions m where m.status_id = s.id order by account_id),
		exists (select 1 from favourites f where f.account_id = $1 and f.status_id = s.id),
		exists (select 1 from statuses r where r.account_id = $1 and r.reblog_of_id = s.id),
		exists (select 1 from bookmarks k where k.account_id = $1 and k.status_id = s.id),
		exists (select 1 from pins p where p.account_id = $1 and p.status_id = s.id),
		exists (select 1 from thread_mutes tm where tm.account_id = $1 and tm.thread_id = coalesce(s.thread_id, s.id)),
		s.emojis
		from ` + ids + ` with ordinality as q(qid, ord)
		join statuses s on s.id = q.qid
		left join status_stats st on st.status_id = s.id
		where ` + visible + ` order by q.ord`
}

// scanStatusViews reads statusViewsSQL's rows.
func scanStatusViews(rows pgx.Rows) ([]*federation.StatusView, error) {
	defer rows.Close()
	var out []*federation.StatusView
	for rows.Next() {
		v := &federation.StatusView{}
		var emojis []byte
		st, err := scanStatusPlus(rows, &v.ReblogOfID, &v.InReplyToID, &v.InReplyToAccountID, &v.Text,
			&v.AppName, &v.AppWebsite, &v.RepliesCount, &v.ReblogsCount, &v.FavouritesCount, &v.MentionIDs,
			&v.Favourited, &v.Reblogged, &v.Bookmarked, &v.Pinned, &v.Muted, &emojis)
		if err != nil {
			return nil, err
		}
		if st.Emojis, err = decodeEmojis(emojis); err != nil { // statusroutes.go
			return nil, err
		}
		v.Status = st
		out = append(out, v)
	}
	return out, rows.Err()
}

const viewColumns = `a.id, coalesce(a.tenant_id, 0), a.domain, a.username, a.display_name, a.note, a.avatar_url,
	a.header_url, a.locked, a.discoverable, a.bot, a.created_at, a.also_known_as, coalesce(a.moved_to_uri, ''),
	a.uri, coalesce(a.url, ''), coalesce(a.inbox_url, ''), coalesce(a.actor_type, ''), a.fields,
	coalesce(x.statuses_count, 0), coalesce(x.followers_count, 0), coalesce(x.following_count, 0), x.last_status_at`

// AccountViews hydrates accounts (local or remote) by id, without keys.
func (s *Store) AccountViews(ctx context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	out := make(map[int64]*federation.AccountView, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, accountViewsSQL(`$1::bigint[]`), ids)
	if err != nil {
		return nil, fmt.Errorf("account views: %w", err)
	}
	return out, scanAccountViews(rows, out)
}

// accountViewsSQL reads the account views of the ids in the bigint[]
// expression ids (never input).
func accountViewsSQL(ids string) string {
	return `select ` + viewColumns + `, a.emojis from accounts a
		left join account_stats x on x.account_id = a.id where a.id = any(` + ids + `)`
}

// scanAccountViews reads accountViewsSQL's rows into out.
func scanAccountViews(rows pgx.Rows, out map[int64]*federation.AccountView) error {
	defer rows.Close()
	for rows.Next() {
		a := &federation.Account{}
		v := &federation.AccountView{Account: a}
		var uri *string
		var url, inbox, typ string
		var emojis []byte
		if err := rows.Scan(&a.ID, &a.TenantID, &a.Domain, &a.Username, &a.DisplayName, &a.Note, &a.AvatarURL,
			&a.HeaderURL, &a.Locked, &a.Discoverable, &a.Bot, &a.CreatedAt, &a.AlsoKnownAs, &a.MovedTo,
			&uri, &url, &inbox, &typ, &a.Fields, &v.StatusesCount, &v.FollowersCount, &v.FollowingCount, &v.LastStatusAt,
			&emojis); err != nil {
			return err
		}
		if uri != nil {
			a.Remote = &federation.RemoteInfo{URI: *uri, URL: url, Inbox: inbox, Type: typ}
			var err error
			if a.Remote.Emojis, err = decodeEmojis(emojis); err != nil { // statusroutes.go
				return err
			}
		}
		out[a.ID] = v
	}
	return rows.Err()
}

// HomeTimeline pages the materialised home feed, without statuses of
// accounts the viewer blocks or mutes, nor those the viewer may no longer
// see (a follow since removed, a block by the author): each entry is
// checked by primary key in a correlated exists, before the LIMIT. The
// feed is read in its own index order; an entry's author is looked up
// for mutes only when the viewer blocks or mutes anyone. Joined with
// statuses instead, the planner
// may walk statuses from the newest down to the feed's entries: everything
// newer than the feed, seconds for a feed of old posts (roost bench
// timeline, docs/benchmarks.md).
func (s *Store) HomeTimeline(ctx context.Context, accountID int64, p federation.Page) ([]int64, error) {
	q, args := homeTimelineSQL(accountID, p)
	return s.ids(ctx, p, q, args...)
}

// homeTimelineSQL is HomeTimeline's query and arguments (homepage.go
// reads it too): the feed's page merged with the page of each read
// author the viewer follows (migration 060, homepull.go), each paged
// alike before the merge, duplicates (a read author's post that
// mentions the viewer, or filed before the author was read) once.
// The read authors' posts are the feed rows they would have been: not
// direct, a boost only for a follower who takes the author's boosts,
// with the same hides and visibility. Each read author the viewer
// follows costs the page one index range of their newest statuses
// (0.17 ms in roost bench timeline's read pattern); finding them is a
// probe of follows per read author of the instance, or a read of the
// viewer's follows, whichever the planner finds cheaper.
func homeTimelineSQL(accountID int64, p federation.Page) (string, []any) {
	q, args := pageSQL("h.status_id", p, 2, []any{accountID})
	pq, _ := pageSQL("ps.id", p, 2, []any{accountID}) // the same parameters
	order := " order by x.id desc"
	if p.MinID > 0 {
		order = " order by x.id asc"
	}
	return `select x.id from ` + homeHides + `, lateral (
		(select h.status_id as id from home_feeds h where h.account_id = $1` + homeHidden + `
			and ` + visibleStatus("h.status_id") + ` and ` + boostedVisible("h.status_id") + q + `)
		union
		(select pp.id from follows hf join home_pull_authors hp on hp.account_id = hf.followee_id
			cross join lateral (select ps.id from statuses ps where ps.account_id = hf.followee_id
				and ps.visibility <> 'direct' and (ps.reblog_of_id is null or hf.show_reblogs)` + pulledHidden + `
				and ` + visibleStatus("ps.id") + ` and ` + boostedVisible("ps.id") + pq + `) pp
			where hf.follower_id = $1 and hf.state = 'accepted')) x` + order + ` limit ` + strconv.Itoa(max(p.Limit, 1)), args // timeline_hides.go
}

// pulledHidden is homeHidden for a read author's status (ps).
var pulledHidden = strings.ReplaceAll(homeHidden, "h.status_id", "ps.id")

// publicModeration leaves out of a tenant's ($2) public or hashtag
// timeline t: accounts silenced or suspended for this tenant or the
// whole instance (account_limits, the dashboard); remote posts from a
// domain silenced (or suspended) for this tenant or the instance,
// subdomains included (domain_blocks); and remote posts this tenant's
// moderators hid (a report resolved with "delete" on its /admin):
// visibleStatus covers signed-in viewers, this anonymous ones.
const publicModeration = ` and not exists (select 1 from statuses ls join account_limits l on l.account_id = ls.account_id
		where ls.id = t.status_id and (l.silenced_at is not null or l.suspended_at is not null)
		and (l.tenant_id is null or l.tenant_id = $2))
	and (t.local or not exists (select 1 from statuses ds join accounts da on da.id = ds.account_id
		join domain_blocks b on b.domain = da.domain or right(da.domain, length(b.domain) + 1) = '.' || b.domain
		where ds.id = t.status_id and b.severity in ('silence', 'suspend') and (b.tenant_id is null or b.tenant_id = $2)))` + hiddenOnTimeline

// PublicTimeline pages the public statuses a tenant has seen that the
// viewer may see.
func (s *Store) PublicTimeline(ctx context.Context, tenantID, viewerID int64, local, remote bool, p federation.Page) ([]int64, error) {
	return s.PublicStatuses(ctx, tenantID, viewerID, federation.TimelineFilter{Local: local, Remote: remote}, p)
}

// PublicStatuses pages the public statuses a tenant has seen that the
// viewer may see, narrowed by f before the LIMIT.
func (s *Store) PublicStatuses(ctx context.Context, tenantID, viewerID int64, f federation.TimelineFilter, p federation.Page) ([]int64, error) {
	cond := publicWhere(f) // tags.go
	q, args := pageSQL("t.status_id", p, 3, []any{viewerID, tenantID})
	return s.ids(ctx, p, `select t.status_id from tenant_timeline t where t.tenant_id = $2`+cond+`
		and `+visibleStatus("t.status_id")+q, args...)
}

// AccountStatuses pages an account's statuses the viewer may see.
func (s *Store) AccountStatuses(ctx context.Context, viewerID, accountID int64, f federation.AccountStatusesFilter, p federation.Page) ([]int64, error) {
	args := []any{viewerID, accountID}
	cond := ""
	if f.ExcludeReplies {
		// Mastodon keeps replies to oneself (threads) in the list.
		cond += " and (s.in_reply_to_uri is null or s.in_reply_to_account_id = s.account_id)"
	}
	if f.ExcludeReblogs {
		cond += " and s.reblog_of_id is null"
	}
	if f.OnlyMedia {
		cond += " and jsonb_array_length(s.attachments) > 0"
	}
	if f.Pinned {
		cond += " and exists (select 1 from pins p where p.account_id = s.account_id and p.status_id = s.id)"
	}
	if f.Tagged != "" {
		args = append(args, strings.ToLower(f.Tagged))
		cond += " and $" + strconv.Itoa(len(args)) + " = any(s.tags)"
	}
	q, args := pageSQL("s.id", p, len(args)+1, args)
	return s.ids(ctx, p, `select s.id from statuses s where s.account_id = $2 and `+visible+` and `+boostedVisible("s.id")+cond+q, args...)
}

// Context walks a thread: ancestors through in_reply_to_id (at most 40,
// oldest first), descendants depth-first in reply order (at most 4,096),
// each filtered by what the viewer may see. The thread of a status the
// viewer may not see is errs.NotFound, as one that does not exist.
func (s *Store) Context(ctx context.Context, viewerID, statusID int64) ([]int64, []int64, error) {
	// One round trip (a pgx batch): the visibility check and both walks;
	// the walks' answers are used only when the status is visible.
	var seen bool
	var anc, desc []int64
	b := &pgx.Batch{}
	b.Queue(`select exists (select 1 from statuses s where s.id = $2 and `+visible+`)`, viewerID, statusID).
		QueryRow(func(r pgx.Row) error { return r.Scan(&seen) })
	b.Queue(`
		with recursive up (id, parent, depth) as (
			select id, in_reply_to_id, 0 from statuses where id = $2
			union all
			select s.id, s.in_reply_to_id, up.depth + 1 from statuses s join up on s.id = up.parent where up.depth < 40)
		select s.id from up join statuses s on s.id = up.id where up.depth > 0 and `+visible+` order by up.depth desc`,
		viewerID, statusID).Query(collectIDs(&anc))
	b.Queue(`
		with recursive down (id, path) as (
			select id, array[id] from statuses where in_reply_to_id = $2
			union all
			select s.id, down.path || s.id from statuses s join down on s.in_reply_to_id = down.id
			where cardinality(down.path) < 256)
		select s.id from down join statuses s on s.id = down.id where `+visible+` order by down.path limit 4096`,
		viewerID, statusID).Query(collectIDs(&desc))
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("context: %w", err)
	}
	if !seen {
		return nil, nil, errNoStatus
	}
	return anc, desc, nil
}

// collectIDs reads a batched query's one bigint column into out.
func collectIDs(out *[]int64) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		*out = ids
		return err
	}
}

// Followers pages an account's accepted followers.
func (s *Store) Followers(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	return s.followList(ctx, "follower_id", "followee_id", accountID, p)
}

// Following pages the accounts an account follows.
func (s *Store) Following(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	return s.followList(ctx, "followee_id", "follower_id", accountID, p)
}

func (s *Store) followList(ctx context.Context, other, self string, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("f.id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select f.`+other+`, f.id from follows f where f.`+self+` = $1 and f.state = 'accepted'`+q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var accts, cursors []int64
	for rows.Next() {
		var a, c int64
		if err := rows.Scan(&a, &c); err != nil {
			return nil, nil, err
		}
		accts, cursors = append(accts, a), append(cursors, c)
	}
	if p.MinID > 0 {
		slices.Reverse(accts)
		slices.Reverse(cursors)
	}
	return accts, cursors, rows.Err()
}

// Relationships reads, for each account, the follows, blocks and mutes
// between it and the viewer.
func (s *Store) Relationships(ctx context.Context, viewerID int64, ids []int64) ([]federation.Relationship, error) {
	rows, err := s.db.Query(ctx, `select q.qid,
		coalesce((select state = 'accepted' from follows where follower_id = $1 and followee_id = q.qid), false),
		coalesce((select state = 'pending' from follows where follower_id = $1 and followee_id = q.qid), false),
		coalesce((select state = 'accepted' from follows where follower_id = q.qid and followee_id = $1), false),
		coalesce((select state = 'pending' from follows where follower_id = q.qid and followee_id = $1), false),
		exists (select 1 from blocks where account_id = $1 and target_id = q.qid),
		exists (select 1 from blocks where account_id = q.qid and target_id = $1),
		coalesce((select true from mutes where account_id = $1 and target_id = q.qid
			and (expires_at is null or expires_at > now())), false),
		coalesce((select notifications from mutes where account_id = $1 and target_id = q.qid
			and (expires_at is null or expires_at > now())), false),
		coalesce((select notify from follows where follower_id = $1 and followee_id = q.qid), false),
		coalesce((select show_reblogs from follows where follower_id = $1 and followee_id = q.qid), false),
		coalesce((select comment from account_notes where account_id = $1 and target_id = q.qid), ''),
		exists (select 1 from account_endorsements where account_id = $1 and target_id = q.qid),
		exists (select 1 from accounts t join account_domain_blocks d on d.account_id = $1
			and (t.domain = d.domain or t.domain like '%.' || d.domain) where t.id = q.qid and t.tenant_id is null)
		from unnest($2::bigint[]) with ordinality as q(qid, ord) order by q.ord`, viewerID, ids)
	if err != nil {
		return nil, fmt.Errorf("relationships: %w", err)
	}
	defer rows.Close()
	var out []federation.Relationship
	for rows.Next() {
		var r federation.Relationship
		if err := rows.Scan(&r.ID, &r.Following, &r.Requested, &r.FollowedBy, &r.RequestedBy, &r.Blocking,
			&r.BlockedBy, &r.Muting, &r.MutingNotifications, &r.Notifying, &r.ShowingReblogs,
			&r.Note, &r.Endorsed, &r.DomainBlocking); err != nil { // note, endorsed: relations.go
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
