package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 21, posting: the statements of a post's transaction are sent as
// one pipelined batch (pgx.Batch) instead of one round trip each. On a
// loaded machine every round trip is two wake-ups (this process and the
// database backend), each waiting for a core; the post's latency was
// mostly those waits, not the statements' work. The batch keeps the
// statements, their order and their checks (each result is read, in
// order, before commit; a failed check rolls the transaction back).

// insertPublished is insertStatus with the post's source text,
// application and quote policy ($20, $21, $22): written by the insert
// itself rather than by an update right after it (a second round trip
// and a dead row version; for the quote policy, a second transaction
// with its own commit). An empty policy leaves it to the
// statuses_quote_policy trigger (the author's default for the
// visibility).
var insertPublished = strings.Replace(strings.Replace(insertStatus, "edited_at, tenant_id)",
	"edited_at, tenant_id, text, application_id, quote_policy)", 1), "$18, $19)",
	"$18, $19, nullif($20, ''), nullif($21::bigint, 0), nullif($22, ''))", 1)

// sqlRememberKey records a post's Idempotency-Key (queueRememberKey).
const sqlRememberKey = `insert into status_idempotency (account_id, key, status_id) values ($1, $2, $3)
	on conflict (account_id, key) do nothing`

// sqlAddMentions records the accounts a status mentions (addMentions).
const sqlAddMentions = `insert into status_mentions (status_id, account_id)
	select $1, id from accounts where id = any($2::bigint[]) on conflict do nothing`

// sqlAttachMedia attaches uploads to a status (attachMedia).
const sqlAttachMedia = `update media_attachments m set status_id = $1, position = u.pos - 1
	from unnest($2::bigint[]) with ordinality as u(id, pos)
	where m.id = u.id and m.account_id = $3 and m.tenant_id = $4 and m.state = 'ready'
	and (m.status_id is null or m.status_id = $1)
	and not exists (select 1 from scheduled_statuses s where s.account_id = m.account_id and m.id = any(s.media_ids))`

// sqlRemoteInboxes lists where a status goes (remoteInboxes).
const sqlRemoteInboxes = `
	select distinct coalesce(a.shared_inbox_url, a.inbox_url) from accounts a
	where a.tenant_id is null and a.inbox_url is not null and (
		($3 <> 'direct' and a.id in (select follower_id from follows where followee_id = $1 and state = 'accepted'))
		or a.uri = any($2))`

// firstFollowers are the followers a post's own transaction reaches
// (localFanOut): $2 the author, $3 the visibility, $5 how many.
const firstFollowers = `
	select f.follower_id, a.tenant_id from follows f join accounts a on a.id = f.follower_id
	where f.followee_id = $2 and f.state = 'accepted' and a.tenant_id is not null and $3 <> 'direct'
	order by f.follower_id limit $5`

// sqlLocalFanOut files status $1 in the home feeds of its author ($2),
// its mentioned local accounts ($4) and its first followers, in one
// statement (their streams hear it in one event), and queues the rest of
// a large audience for the fan-out job ($6: its channel). The followers
// of a read author (migration 060) get no rows: their home timelines
// read the author's posts; only a public post's tenant timelines are
// left to the job.
const sqlLocalFanOut = `
	with pulled as (select exists (select 1 from home_pull_authors where account_id = $2) as yes),
	batch as (` + firstFollowers + `),
	feed as (
		insert into home_feeds (account_id, status_id)
		select $2::bigint, $1::bigint
		union
		select follower_id, $1::bigint from batch, pulled where not pulled.yes
		union
		select id, $1::bigint from accounts where id = any($4::bigint[]) and tenant_id is not null
		on conflict do nothing),
	seen as (select coalesce(max(follower_id), 0) as last, count(*) as n from batch),
	queued as (
		insert into home_fanouts (status_id, tenant_id, timelines, after_id)
		select $1, null, $3 = 'public', last from seen, pulled where n >= $5 and (not pulled.yes or $3 = 'public')
		returning 1)
	select pg_notify($6, '') from queued`

// sqlTenantTimelines files a public status ($1) in its author's tenant's
// timeline ($4) as local, and in those of its first followers' tenants
// as they would a remote post (those of the followers the fan-out job
// reaches, as it reaches them).
const sqlTenantTimelines = `
	insert into tenant_timeline (tenant_id, status_id, local)
	select $4::bigint, $1::bigint, true
	union
	select distinct tenant_id, $1::bigint, false from (` + firstFollowers + `) f where tenant_id <> $4
	on conflict do nothing`

// queueLocalFanOut queues localFanOut's statements on b.
func queueLocalFanOut(b *pgx.Batch, st *federation.Status) {
	execChecked(b.Queue(sqlLocalFanOut, st.ID, st.AccountID, string(st.Visibility), st.LocalMentionIDs, HomeFanOutInline,
		FanOutChannel), "local delivery", nil)
	if st.Visibility == federation.Public {
		execChecked(b.Queue(sqlTenantTimelines, st.ID, st.AccountID, string(st.Visibility), st.TenantID,
			HomeFanOutInline), "tenant timelines", nil)
	}
}

// queueMentions queues addMentions' insert on b.
func queueMentions(b *pgx.Batch, statusID int64, ids []int64) {
	if len(ids) > 0 {
		execChecked(b.Queue(sqlAddMentions, statusID, ids), "mentions", nil)
	}
}

// queueAttachMedia queues attachMedia's attaching of a new status's
// uploads on b (a new status has nothing to detach).
func queueAttachMedia(b *pgx.Batch, st *federation.Status) {
	var ids []int64
	for _, a := range st.Attachments {
		if a.MediaID != 0 {
			ids = append(ids, a.MediaID)
		}
	}
	if len(ids) == 0 {
		return
	}
	execChecked(b.Queue(sqlAttachMedia, st.ID, ids, st.AccountID, st.TenantID), "attach media", func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != int64(len(ids)) {
			return errs.E(errs.Invalid, "media cannot be attached: it is not yours, not ready, or on another post or a scheduled one")
		}
		return nil
	})
}

// queueRemoteInboxes queues remoteInboxes' query on b; *into receives
// the inboxes.
func queueRemoteInboxes(b *pgx.Batch, st *federation.Status, into *[]string) {
	b.Queue(sqlRemoteInboxes, st.AccountID, strs(st.Mentions), string(st.Visibility)).Query(func(rows pgx.Rows) error {
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("remote inboxes: %w", err)
		}
		*into = got
		return nil
	})
}

// execChecked reads qq's result when the batch is closed: a failed
// statement's error names what it was doing; check (nil: none) judges
// what it changed.
func execChecked(qq *pgx.QueuedQuery, what string, check func(pgconn.CommandTag) error) {
	qq.Fn = func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if check == nil {
			return nil
		}
		return check(tag)
	}
}
