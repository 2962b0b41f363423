package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/internal/pgutil"
)

// Publish stores a local status and, in the same transaction, delivers it
// locally — into the home feeds of the author, of mentioned local
// accounts and of local followers on every tenant (a large audience's
// rest after commit: localFanOut) — and records
// one delivery row per remote inbox, shared inboxes deduplicated. uriFor
// gives the status its URI from its id; render builds the activity to
// deliver. The returned delivery ids are dispatched by the caller after
// commit; should that fail, the sweeper dispatches them.
func (s *Store) Publish(ctx context.Context, st *federation.Status, uriFor func(id int64) string,
	render func(*federation.Status) (string, []byte, error)) (*federation.Status, []int64, error) {
	var out *federation.Status
	var ids []int64
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := consumeScheduled(ctx, tx, st); err != nil { // scheduled.go
			return err
		}
		// A reply links its author to the post it answers: only to one
		// they may see, and one they may not is answered as missing.
		if st.InReplyToURI != "" {
			if _, err := mustSeeURI(ctx, tx, st.AccountID, st.InReplyToURI); err != nil {
				return err
			}
		}
		var id int64
		if err := tx.QueryRow(ctx, `select nextval(pg_get_serial_sequence('statuses', 'id'))`).Scan(&id); err != nil {
			return err
		}
		st.URI = uriFor(id)
		args, err := statusArgs(st)
		if err != nil {
			return err
		}
		// The rest is one pipelined batch (publish_batch.go), each
		// result read in order before commit.
		filed := *st
		filed.ID = id
		b := &pgx.Batch{}
		b.Queue(insertPublished+` returning `+statusColumns,
			append(append([]any{id}, args...), st.TenantID, st.Text, st.ApplicationID, string(st.QuotePolicy))...).QueryRow(func(row pgx.Row) (err error) {
			if out, err = scanStatus(row); err != nil {
				return fmt.Errorf("insert status: %w", err)
			}
			return nil
		})
		queueRememberKey(b, st.IdempotencyKey, st.AccountID, id) // idempotency.go
		queueMentions(b, id, st.MentionIDs)
		queueAttachMedia(b, &filed)
		queueLocalFanOut(b, &filed)
		var inboxes []string
		queueRemoteInboxes(b, &filed, &inboxes)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		out.LocalMentionIDs, out.MentionIDs = st.LocalMentionIDs, st.MentionIDs
		out.Text, out.ApplicationID = st.Text, st.ApplicationID
		activityID, body, err := render(out)
		if err != nil {
			return err
		}
		ids, err = addDeliveries(ctx, tx, out.AccountID, activityID, body, inboxes, out.Visibility == federation.Direct || out.InReplyToURI != "")
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ids, nil
}

// localFanOut is local delivery: no HTTP, no signature, same result. The
// author, the local accounts it mentions and the first followers
// (HomeFanOutInline, on any tenant) get it in this transaction — one
// statement, so their streams hear it in one event as before; the rest
// of a large audience get it after commit from the fan-out job
// (fanout.go), so the transaction's work does not grow with the audience.
func localFanOut(ctx context.Context, tx pgx.Tx, st *federation.Status) error {
	b := &pgx.Batch{}
	queueLocalFanOut(b, st) // publish_batch.go
	return tx.SendBatch(ctx, b).Close()
}

// addMentions records the accounts a status mentions (notifying the local
// ones, by trigger).
func addMentions(ctx context.Context, q interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, statusID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, sqlAddMentions, statusID, ids) // publish_batch.go
	if err != nil {
		return fmt.Errorf("mentions: %w", err)
	}
	return nil
}

// remoteInboxes lists where a status goes: remote followers (unless
// direct) and mentioned remote actors, each server's shared inbox once.
func remoteInboxes(ctx context.Context, tx pgx.Tx, st *federation.Status) ([]string, error) {
	rows, err := tx.Query(ctx, sqlRemoteInboxes, st.AccountID, strs(st.Mentions), string(st.Visibility)) // publish_batch.go
	if err != nil {
		return nil, fmt.Errorf("remote inboxes: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// addDeliveries inserts delivery rows on any querier (pool or tx).
func addDeliveries(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, senderID int64, activityID string, body []byte, inboxes []string, express bool) ([]int64, error) {
	return insertDeliveries(ctx, q, senderID, "", activityID, body, inboxes, express)
}

// insertDeliveries is addDeliveries with the acting host whose instance
// actor signs the rows instead of the sender ("": the sender signs).
func insertDeliveries(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, senderID int64, actingHost, activityID string, body []byte, inboxes []string, express bool) ([]int64, error) {
	if len(inboxes) == 0 {
		return nil, nil
	}
	hosts, names := make([]string, len(inboxes)), make([]string, len(inboxes))
	for i, in := range inboxes {
		hosts[i] = ap.HostOf(in)
		names[i] = strings.Join(domainblock.Suffixes(hosts[i]), " ")
	}
	// Inboxes on a domain suspended for the sender's tenant (by the
	// instance or the tenant, on the host or a parent domain) get no row:
	// nothing is ever queued for them.
	rows, err := q.Query(ctx, `
		insert into deliveries (sender_id, activity_id, inbox_url, host, body, express, acting_host, tenant_id)
		select $1, $2, u.inbox, u.host, $3, $4, nullif($8, ''), (select tenant_id from accounts where id = $1)
		from unnest($5::text[], $6::text[], $7::text[]) as u(inbox, host, names)
		where not exists (select 1 from domain_blocks b where b.domain = any(string_to_array(u.names, ' '))
			and b.severity = 'suspend'
			and (b.tenant_id is null or b.tenant_id = (select tenant_id from accounts where id = $1)))
		on conflict (activity_id, inbox_url) do nothing
		returning id`, senderID, activityID, body, express, inboxes, hosts, names, actingHost)
	if err != nil {
		return nil, fmt.Errorf("add deliveries: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ownStatusViewSQL is statusViewsSQL for one status read by its author
// ($1; $2 the status): the answer to a post. The visibility rule is the
// author's own first clause (an author sees their own post), and the one
// id is an array of one, whose size the planner knows without seeing the
// value: the statement gets one generic plan, where the general query
// with its rule and an array of any size was planned again on every
// call (1–4 ms of each post's answer, issue 21).
var ownStatusViewSQL = func() string {
	q := statusViewsSQL(`unnest(array[$2::bigint])`)
	own := strings.Replace(q, "where "+visible, "where s.account_id = $1", 1)
	if own == q {
		panic("ownStatusViewSQL: statusViewsSQL no longer ends with the visibility rule")
	}
	return own
}()

// OwnStatusView is the status view of one of accountID's own statuses as
// they see it (StatusViews' view, for its author), nil when it is not
// theirs or does not exist.
func (s *Store) OwnStatusView(ctx context.Context, accountID, statusID int64) (*federation.StatusView, error) {
	rows, err := s.db.Query(ctx, ownStatusViewSQL, accountID, statusID)
	if err != nil {
		return nil, fmt.Errorf("own status view: %w", err)
	}
	views, err := scanStatusViews(rows)
	if err != nil || len(views) == 0 {
		return nil, err
	}
	return views[0], nil
}
