package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	db "github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/internal/pgutil"
)

// The dashboard's federation and queue pages (api/admin). scope 0 is the
// instance; otherwise counts and rows are those of the tenant's own
// accounts and deliveries only.

// hostMatch is true when a deliveries.host (which may carry a port) is
// the remote host h (indexed for pending rows: deliveries_pending_host).
const hostMatch = `split_part(d.host, ':', 1) = h.host`

const hostQuery = `
	select h.host, coalesce(r.software, ''), coalesce(r.version, ''), r.nodeinfo_fetched_at, coalesce(r.nodeinfo_error, ''),
		(select count(*) from accounts a where a.tenant_id is null and a.domain = h.host),
		(select count(*) from follows f join accounts ra on ra.id = f.followee_id join accounts la on la.id = f.follower_id
			where ra.tenant_id is null and ra.domain = h.host and la.tenant_id is not null and ($1 = 0 or la.tenant_id = $1)),
		(select count(*) from follows f join accounts ra on ra.id = f.follower_id join accounts la on la.id = f.followee_id
			where ra.tenant_id is null and ra.domain = h.host and la.tenant_id is not null and ($1 = 0 or la.tenant_id = $1)),
		r.last_delivered_at, r.last_failure_at, coalesce(r.last_error, ''), coalesce(r.consecutive_failures, 0), r.breaker_until,
		(select count(*) from deliveries d where d.state = 'pending' and ` + hostMatch + `
			and ($1 = 0 or d.sender_id in (select id from accounts where tenant_id = $1))),
		(select count(*) from deliveries d where d.state = 'failed' and ` + hostMatch + `
			and ($1 = 0 or d.sender_id in (select id from accounts where tenant_id = $1)))
	from hosts h left join remote_hosts r on r.host = h.host`

func scanHost(r pgx.Row) (db.Host, error) {
	var h db.Host
	err := r.Scan(&h.Host, &h.Software, &h.Version, &h.NodeInfoFetchedAt, &h.NodeInfoError, &h.Accounts, &h.WeFollow, &h.FollowUs,
		&h.LastDeliveredAt, &h.LastFailureAt, &h.LastError, &h.ConsecutiveFailures, &h.BreakerUntil, &h.Pending, &h.Failed)
	return h, err
}

// RemoteHosts lists the remote hosts we know (from remote accounts and
// host records) whose name contains search, by name.
func (s *Store) RemoteHosts(ctx context.Context, scope int64, search string, limit int) ([]db.Host, error) {
	rows, err := s.db.Query(ctx, `with hosts as (
			select distinct domain as host from accounts where tenant_id is null and ($2 = '' or strpos(domain, $2) > 0)
			union select host from remote_hosts where $2 = '' or strpos(host, $2) > 0
			order by 1 limit $3)`+hostQuery+` order by h.host`, scope, strings.ToLower(search), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (db.Host, error) { return scanHost(r) })
}

// RemoteHost returns one host, or errs.NotFound when we know nothing of it.
func (s *Store) RemoteHost(ctx context.Context, scope int64, host string) (*db.Host, error) {
	h, err := scanHost(s.db.QueryRow(ctx, `with hosts as (
			select $2::text as host where exists (select 1 from accounts where tenant_id is null and domain = $2)
				or exists (select 1 from remote_hosts where host = $2)
				or exists (select 1 from deliveries where state = 'pending' and split_part(host, ':', 1) = $2))`+hostQuery, scope, strings.ToLower(host)))
	if err != nil {
		return nil, pgutil.NotFound(err, "this instance knows nothing of that host")
	}
	return &h, nil
}

const deliveryRowColumns = `d.id, a.tenant_id, a.username || '@' || a.domain, d.inbox_url, d.host, d.activity_id, d.state,
	d.attempts, coalesce(d.last_status, 0), coalesce(d.last_error, ''), d.created_at, d.next_attempt_at`

// Deliveries lists scope's deliveries in state, newest first, optionally
// to one host.
func (s *Store) Deliveries(ctx context.Context, scope int64, state, host string, limit int) ([]db.Delivery, error) {
	rows, err := s.db.Query(ctx, `select `+deliveryRowColumns+`
		from deliveries d join accounts a on a.id = d.sender_id
		where d.state = $2 and ($1 = 0 or a.tenant_id = $1) and ($3 = '' or split_part(d.host, ':', 1) = $3)
		order by d.id desc limit $4`, scope, state, host, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (db.Delivery, error) {
		var d db.Delivery
		err := r.Scan(&d.ID, &d.TenantID, &d.Sender, &d.Inbox, &d.Host, &d.ActivityID, &d.State, &d.Attempts,
			&d.LastStatus, &d.LastError, &d.CreatedAt, &d.NextAttemptAt)
		return d, err
	})
}

// QueueCounts counts scope's deliveries: pending and failed rows only,
// which partial indexes cover (delivered rows are most of the table).
func (s *Store) QueueCounts(ctx context.Context, scope int64, now time.Time) (*db.QueueCounts, error) {
	var c db.QueueCounts
	err := s.db.QueryRow(ctx, `select
			count(*) filter (where d.state = 'pending'),
			count(*) filter (where d.state = 'pending' and d.next_attempt_at <= $2),
			(select count(*) from deliveries f join accounts fa on fa.id = f.sender_id where f.state = 'failed' and ($1 = 0 or fa.tenant_id = $1)),
			(select count(*) from deliveries f join accounts fa on fa.id = f.sender_id where f.state = 'failed'
				and f.created_at > $2::timestamptz - interval '1 day' and ($1 = 0 or fa.tenant_id = $1)),
			min(d.next_attempt_at) filter (where d.state = 'pending' and d.next_attempt_at <= $2)
		from deliveries d join accounts a on a.id = d.sender_id
		where d.state = 'pending' and ($1 = 0 or a.tenant_id = $1)`, scope, now).
		Scan(&c.Pending, &c.Due, &c.Failed, &c.Failed24h, &c.OldestDue)
	return &c, err
}

// RetryDeliveries makes scope's failed deliveries (ids, or all with ids
// nil) pending and due now, with a fresh retry window, and returns their
// ids for dispatch. Deliveries to a domain suspended for their sender
// stay failed.
func (s *Store) RetryDeliveries(ctx context.Context, scope int64, ids []int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `update deliveries d set state = 'pending', next_attempt_at = now(), created_at = now(),
			attempts = 0, leased_until = null, last_error = null, last_status = null
		from accounts a
		where a.id = d.sender_id and d.state = 'failed' and ($1 = 0 or a.tenant_id = $1)
			and ($2::bigint[] is null or d.id = any($2))
			and not exists (select 1 from domain_blocks b where b.severity = 'suspend'
				and (b.tenant_id is null or b.tenant_id = a.tenant_id)
				and (split_part(d.host, ':', 1) = b.domain or split_part(d.host, ':', 1) like '%.' || b.domain))
		returning d.id`, scope, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// DiscardDeliveries deletes scope's failed deliveries (ids, or all with
// ids nil) and returns how many.
func (s *Store) DiscardDeliveries(ctx context.Context, scope int64, ids []int64) (int64, error) {
	tag, err := s.db.Exec(ctx, `delete from deliveries d using accounts a
		where a.id = d.sender_id and d.state = 'failed' and ($1 = 0 or a.tenant_id = $1)
			and ($2::bigint[] is null or d.id = any($2))`, scope, ids)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// RecordHostStates writes delivery health of hosts (a worker calls it on
// state changes, at most about once a minute per host).
func (s *Store) RecordHostStates(ctx context.Context, states []db.HostState) error {
	b := &pgx.Batch{}
	for _, st := range states {
		b.Queue(`insert into remote_hosts as r (host, last_delivered_at, last_failure_at, last_error, consecutive_failures, breaker_until, updated_at)
			values ($1, case when $2 then $6::timestamptz end, case when not $2 then $6::timestamptz end, $3, $4, $5, $6)
			on conflict (host) do update set
				last_delivered_at = coalesce(excluded.last_delivered_at, r.last_delivered_at),
				last_failure_at = coalesce(excluded.last_failure_at, r.last_failure_at),
				last_error = case when $2 then r.last_error else excluded.last_error end,
				consecutive_failures = excluded.consecutive_failures, breaker_until = excluded.breaker_until, updated_at = excluded.updated_at`,
			hostnameOnly(st.Host), st.Delivered, st.Error, st.ConsecutiveFailures, nullTime(st.BreakerUntil), st.At)
	}
	return s.db.SendBatch(ctx, b).Close()
}

// hostnameOnly drops a port: remote hosts are kept by name.
func hostnameOnly(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.Contains(h[i:], "]") {
		return h[:i]
	}
	return h
}

// DueNodeInfo returns up to limit hosts whose NodeInfo is due, first
// adding hosts of remote accounts not seen before, and pushes their next
// fetch out by lease.
func (s *Store) DueNodeInfo(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error) {
	// A new host is due at the caller's now, not the database's: with the
	// column's default (a later now()) it would wait for the next pass.
	if _, err := s.db.Exec(ctx, `insert into remote_hosts (host, nodeinfo_next_at)
		select distinct domain, $1::timestamptz from accounts a where tenant_id is null
			and not exists (select 1 from remote_hosts r where r.host = a.domain)
		on conflict do nothing`, now); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `update remote_hosts set nodeinfo_next_at = $1::timestamptz + $2::interval
		where host in (select host from remote_hosts where nodeinfo_next_at <= $1 order by nodeinfo_next_at limit $3 for update skip locked)
		returning host`, now, lease, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RecordNodeInfo stores a NodeInfo fetch: software and version on
// success (failures reset), the error and a growing back-off otherwise.
func (s *Store) RecordNodeInfo(ctx context.Context, host, software, version, fetchErr string, at, next time.Time) error {
	_, err := s.db.Exec(ctx, `update remote_hosts set
			software = case when $4 = '' then $2 else software end,
			version = case when $4 = '' then $3 else version end,
			nodeinfo_fetched_at = case when $4 = '' then $5 else nodeinfo_fetched_at end,
			nodeinfo_failures = case when $4 = '' then 0 else nodeinfo_failures + 1 end,
			nodeinfo_error = $4, nodeinfo_next_at = $6
		where host = $1`, host, software, version, fetchErr, at, next)
	return err
}

// NodeInfoFailures is how many NodeInfo fetches of host failed in a row.
func (s *Store) NodeInfoFailures(ctx context.Context, host string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `select nodeinfo_failures from remote_hosts where host = $1`, host).Scan(&n)
	return n, err
}
