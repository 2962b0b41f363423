package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/roost-social/roost/federation"
)

// Fair claiming (issue 20): one tenant's backlog must not queue another
// tenant's work behind it. Deliveries and inbox items are claimed
// round-robin over the tenants that have work: a claim of n rows visits
// at most n tenants from a rotating cursor (a loose index scan, so a
// claim costs the tenants it visits, not the rows queued), takes an equal
// share of each one's due rows, and orders the batch by each row's rank
// within its tenant, express first. Every visited tenant with a due row
// thus gets one, a quiet tenant's direct message ranks first in the very
// next batch whatever another tenant has queued, and with more tenants
// than a batch holds the cursor takes the next claim to the next ones.

// The rows a claim has chosen are locked and leased by their ids alone
// (= any(array(...)): an index scan of the primary key whatever the
// statistics say). The re-check of a chosen row (still pending, due and
// free once locked) is written "(…) is true" so that no partial index on
// the pending rows matches it: on a fresh table's statistics the planner
// joined the chosen ids to a scan of every due pending row instead, and
// each claim of a 5,000-inbox fan-out read all 5,000 (issue 21).

// maxClaimPasses bounds the passes of one claim: the first gives every
// visited tenant an equal share of the batch, and each further pass
// hands what the quiet tenants left to the busy ones with a share four
// times wider, so a busy tenant beside quiet ones still fills the batch
// while the rows a pass sorts stay bounded (one more pass may wrap the
// cursor around).
const maxClaimPasses = 4

// ClaimDeliveries leases up to n due deliveries, fair across tenants (see
// above), in the order they should be attempted. after is the tenant
// cursor (0: from the start); next is where the following claim starts.
func (s *Store) ClaimDeliveries(ctx context.Context, after int64, n int, now time.Time, lease time.Duration) ([]*federation.Delivery, map[int64]*federation.Account, int64, error) {
	var out []*federation.Delivery
	senders := map[int64]*federation.Account{}
	next := after
	err := claimPasses(after, n, func(pass int, after int64, want, widen int) (int, error) {
		ds, cursor, err := s.claimPass(ctx, after, want, widen, now, lease, senders)
		if pass == 0 {
			next = cursor
		}
		out = append(out, ds...)
		return len(ds), err
	})
	if err != nil {
		return nil, nil, 0, err
	}
	return out, senders, next, nil
}

// claimPasses runs a fair claim's passes until n rows are claimed: pass
// claims up to want rows from the tenants after the cursor after, each
// visited tenant's share widened widen times, and returns how many it
// claimed. A pass that comes up short from a cursor wraps around to the
// tenants before it; one that comes up short from the start widens the
// shares, so the busy tenants take what the quiet ones left.
func claimPasses(after int64, n int, pass func(pass int, after int64, want, widen int) (int, error)) error {
	got, widen := 0, 1
	for p := 0; p < maxClaimPasses && got < n; p++ {
		k, err := pass(p, after, n-got, widen)
		if err != nil {
			return err
		}
		got += k
		switch {
		case got == n:
		case after != 0:
			after = 0
		case k == 0:
			return nil
		default:
			widen *= 4
		}
	}
	return nil
}

// claimPass is one pass of ClaimDeliveries, each visited tenant's share
// widened widen times.
func (s *Store) claimPass(ctx context.Context, after int64, n, widen int, now time.Time, lease time.Duration,
	senders map[int64]*federation.Account) ([]*federation.Delivery, int64, error) {
	rows, err := s.db.Query(ctx, claimDeliveriesSQL, after, n, now, lease, n, widen)
	if err != nil {
		return nil, 0, fmt.Errorf("claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []*federation.Delivery
	var next int64
	for rows.Next() {
		d, a := &federation.Delivery{Leased: true}, &federation.Account{}
		if err := rows.Scan(&d.ID, &d.SenderID, &d.ActivityID, &d.Inbox, &d.Host, &d.Body, &d.Express, &d.State,
			&d.Attempts, &d.NextAttemptAt, &d.CreatedAt, &d.ActingHost, &a.TenantID, &a.Domain, &a.Username,
			&a.PrivateKeyPEM, &next); err != nil {
			return nil, 0, fmt.Errorf("claim deliveries: %w", err)
		}
		a.ID = d.SenderID
		out = append(out, d)
		if _, ok := senders[a.ID]; !ok {
			senders[a.ID] = a
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, next, nil
}

// ClaimInboxItems leases up to limit unprocessed inbox items, fair across
// tenants as ClaimDeliveries is: a tenant receiving a flood gets its share
// of each batch, and another tenant's item is in the next one. SKIP
// LOCKED lets several workers claim concurrently without waiting on each
// other.
func (s *Store) ClaimInboxItems(ctx context.Context, after int64, limit int, lease time.Duration) ([]federation.InboxItem, int64, error) {
	var out []federation.InboxItem
	next := after
	err := claimPasses(after, limit, func(pass int, after int64, want, widen int) (int, error) {
		items, cursor, err := s.claimInboxPass(ctx, after, want, widen, lease)
		if pass == 0 {
			next = cursor
		}
		out = append(out, items...)
		return len(items), err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, next, nil
}

// claimInboxPass is one pass of ClaimInboxItems, each visited tenant's
// share widened widen times; items come oldest first within a rank.
func (s *Store) claimInboxPass(ctx context.Context, after int64, n, widen int, lease time.Duration) ([]federation.InboxItem, int64, error) {
	rows, err := s.db.Query(ctx, claimInboxSQL, after, n, widen, lease)
	if err != nil {
		return nil, 0, fmt.Errorf("claim inbox items: %w", err)
	}
	defer rows.Close()
	var items []federation.InboxItem
	var next int64
	for rows.Next() {
		var it federation.InboxItem
		if err := rows.Scan(&it.ID, &it.TenantID, &it.ActivityID, &it.ActorURI, &it.Activity, &it.ReceivedAt, &it.Attempts, &next); err != nil {
			return nil, 0, fmt.Errorf("claim inbox items: %w", err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("claim inbox items: %w", err)
	}
	return items, next, nil
}

// claimDeliveriesSQL is one pass of ClaimDeliveries: $1 the tenant
// cursor, $2 and $5 the rows wanted, $3 now, $4 the lease, $6 the widening.
const claimDeliveriesSQL = `
		with recursive t (tid, k) as (
			(select tenant_id, 1 from deliveries where state = 'pending' and tenant_id > $1 order by tenant_id limit 1)
			union all
			select (select d.tenant_id from deliveries d where d.state = 'pending' and d.tenant_id > t.tid
				order by d.tenant_id limit 1), t.k + 1
			from t where t.tid is not null and t.k < $5),
		visited as (select tid from t where tid is not null),
		share as (select least($2, $6 * greatest(1, ceil($2::numeric / greatest(count(*), 1))))::int as per from visited),
		picked as (
			select p.id, p.express, p.next_attempt_at,
				row_number() over (partition by p.tid order by p.express desc, p.next_attempt_at, p.id) as rn
			from visited v cross join share cross join lateral (
				(select d.id, d.express, d.next_attempt_at, v.tid from deliveries d
					where d.state = 'pending' and d.tenant_id = v.tid and d.express and d.next_attempt_at <= $3
						and (d.leased_until is null or d.leased_until <= $3)
					order by d.next_attempt_at, d.id limit share.per)
				union all
				(select d.id, d.express, d.next_attempt_at, v.tid from deliveries d
					where d.state = 'pending' and d.tenant_id = v.tid and not d.express and d.next_attempt_at <= $3
						and (d.leased_until is null or d.leased_until <= $3)
					order by d.next_attempt_at, d.id limit share.per)) p),
		chosen as (
			select id, rn, express, next_attempt_at from picked
			order by rn, express desc, next_attempt_at, id limit $2),
		locked as (select d.id from deliveries d where d.id = any(array(select id from chosen)) for update skip locked),
		leased as (
			update deliveries d set leased_until = $3::timestamptz + $4::interval
			where d.id = any(array(select id from locked)) and (d.state = 'pending' and d.next_attempt_at <= $3
				and (d.leased_until is null or d.leased_until <= $3)) is true
			returning d.id, d.sender_id, d.activity_id, d.inbox_url, d.host, d.body, d.express, d.state,
				d.attempts, d.next_attempt_at, d.created_at, coalesce(d.acting_host, '') as acting_host)
		select l.id, l.sender_id, l.activity_id, l.inbox_url, l.host, l.body, l.express, l.state,
			l.attempts, l.next_attempt_at, l.created_at, l.acting_host,
			a.tenant_id, a.domain, a.username, a.private_key_pem,
			(select coalesce(max(tid), 0) from visited) * (case when (select count(*) from visited) >= $5 then 1 else 0 end)
		from leased l join chosen c on c.id = l.id
			join accounts a on a.id = l.sender_id and a.tenant_id is not null
		order by c.rn, c.express desc, c.next_attempt_at, l.id`

// claimInboxSQL is one pass of ClaimInboxItems: $1 the tenant cursor, $2
// the items wanted, $3 the widening, $4 the lease.
const claimInboxSQL = `
		with recursive t (tid, k) as (
			(select tenant_id, 1 from inbox_items where processed_at is null and tenant_id > $1 order by tenant_id limit 1)
			union all
			select (select i.tenant_id from inbox_items i where i.processed_at is null and i.tenant_id > t.tid
				order by i.tenant_id limit 1), t.k + 1
			from t where t.tid is not null and t.k < $2),
		visited as (select tid from t where tid is not null),
		share as (select least($2, $3 * greatest(1, ceil($2::numeric / greatest(count(*), 1))))::int as per from visited),
		picked as (
			select p.id, row_number() over (partition by v.tid order by p.id) as rn
			from visited v cross join share cross join lateral (
				select i.id from inbox_items i
				where i.processed_at is null and i.tenant_id = v.tid and (i.locked_until is null or i.locked_until < now())
				order by i.id limit share.per) p),
		chosen as (select id, rn from picked order by rn, id limit $2),
		locked as (select i.id from inbox_items i where i.id = any(array(select id from chosen)) for update skip locked),
		claimed as (
			update inbox_items i set attempts = i.attempts + 1, locked_until = now() + $4::interval
			where i.id = any(array(select id from locked)) and (i.processed_at is null
				and (i.locked_until is null or i.locked_until < now())) is true
			returning i.id, i.tenant_id, i.activity_id, i.actor_uri, i.activity, i.received_at, i.attempts)
		select c.id, c.tenant_id, c.activity_id, c.actor_uri, c.activity, c.received_at, c.attempts,
			(select coalesce(max(tid), 0) from visited) * (case when (select count(*) from visited) >= $2 then 1 else 0 end)
		from claimed c join chosen o on o.id = c.id
		order by o.rn, c.id`
