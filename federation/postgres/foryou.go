package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

var _ federation.ForYouStore = (*Store)(nil)

// The "For you" queries share their parameters: $1 the viewer, then the
// weights in forYouArgs' order. docs/for-you.md explains the ranking.
func forYouArgs(viewerID int64, w federation.ForYouWeights) []any {
	return []any{viewerID, w.InteractionDays, w.Pool, w.WindowHours, w.Favourite, w.Boost, w.Reply,
		w.HalfLifeHours, w.Affinity, w.Freshness, w.Noise, w.Closest, w.ClosestPosts}
}

// forYouInteractions counts, per author, the viewer's favourites of their
// posts, boosts of them and replies to them in the last $2 days.
const forYouInteractions = `select author, sum(favs)::bigint as favs, sum(boosts)::bigint as boosts,
		sum(replies)::bigint as replies from (
		select s.account_id as author, 1 as favs, 0 as boosts, 0 as replies
		from favourites f join statuses s on s.id = f.status_id
		where f.account_id = $1 and f.created_at > now() - make_interval(days => $2::int)
		union all
		select o.account_id, 0, 1, 0 from statuses r join statuses o on o.id = r.reblog_of_id
		where r.account_id = $1 and r.reblog_of_id is not null and r.created_at > now() - make_interval(days => $2::int)
		union all
		select r.in_reply_to_account_id, 0, 0, 1 from statuses r
		where r.account_id = $1 and r.in_reply_to_account_id is not null
			and r.created_at > now() - make_interval(days => $2::int)
	) i where author <> $1 group by author`

// forYouAge is a status s's age in hours (never negative); forYouNoise its
// noise in [0, 1), a hash of status, viewer and UTC day: stable for a day,
// so a reload ranks alike and an explanation can be reproduced.
const (
	forYouAge   = `greatest(extract(epoch from now() - s.published_at)::float8 / 3600, 0)`
	forYouNoise = `((hashtextextended(s.id::text || '/' || $1::bigint::text || '/' ||
		to_char(now() at time zone 'UTC', 'YYYY-MM-DD'), 0) & 2147483647)::float8 / 2147483648)`
)

// forYouScored turns a relation c (id, account_id, age, noise) and aff
// (forYouInteractions) into the score and its components.
const forYouScored = `select c.id, c.account_id, c.age, c.noise,
		coalesce(a.favs, 0) as favs, coalesce(a.boosts, 0) as boosts, coalesce(a.replies, 0) as replies,
		ln(1 + $5::float8 * coalesce(a.favs, 0) + $6::float8 * coalesce(a.boosts, 0)
			+ $7::float8 * coalesce(a.replies, 0)) as affinity,
		power(0.5::float8, c.age / $8::float8) as freshness
	from c left join aff a on a.author = c.account_id`

// forYouTotal is the score of a forYouScored row.
const forYouTotal = `$9::float8 * affinity + $10::float8 * freshness + $11::float8 * noise`

// forYouPool is what is ranked (aff must be in scope): the newest $3
// entries of the viewer's home feed not served yet, the newest $13 of
// each read author the viewer follows (migration 060: their posts have
// no feed rows; as many as of a closest author), and the newest $13
// posts of each of the $12 authors the viewer interacts with most, when
// in the home feed, from the window and not served yet. The cost of a
// page is bounded whatever the feed's size; a long read goes on down the
// feed; and a fast feed does not push the closest authors' posts out.
var forYouPool = `(select h.status_id from home_feeds h where h.account_id = $1
		and not exists (select 1 from for_you_served v where v.account_id = $1 and v.status_id = h.status_id)
		order by h.status_id desc limit $3::int)
	union
	(` + pulledRecent(`not exists (select 1 from for_you_served v where v.account_id = $1 and v.status_id = ps.id)`, `$13::int`) + `)
	union
	(select p.id from (select author from aff
			order by $5::float8 * favs + $6::float8 * boosts + $7::float8 * replies desc, author limit $12::int) t
		cross join lateral (select s.id, s.published_at from statuses s where s.account_id = t.author
			order by s.id desc limit $13::int) p
		where p.published_at > now() - make_interval(hours => $4::int)
		and ` + inHome("p.id") + `
		and not exists (select 1 from for_you_served v where v.account_id = $1 and v.status_id = p.id))`

// forYouEligible says whether status s of the pool may be served to
// viewer $1: someone else's own post (not a boost, not direct) from the
// last $4 hours that the viewer may see, does not hide, and has neither
// liked nor boosted already.
const forYouEligible = `s.account_id <> $1 and s.reblog_of_id is null and s.visibility <> 'direct'
	and s.published_at > now() - make_interval(hours => $4::int)
	and ` + visible + ` and not (` + hidden + `)
	and not exists (select 1 from favourites f where f.account_id = $1 and f.status_id = s.id)
	and not exists (select 1 from statuses r where r.reblog_of_id = s.id and r.account_id = $1)`

// ForYou ranks the eligible posts of the pool (forYouPool), keeps at most
// PerAuthor(limit) per author, and records the page it returns as served,
// all in one statement. Served rows older than twice the window are pruned
// on the way: their posts are out of the window.
func (s *Store) ForYou(ctx context.Context, accountID int64, limit int) ([]federation.ForYouItem, error) {
	w := federation.DefaultForYou
	limit = max(limit, 1)
	args := append(forYouArgs(accountID, w), w.PerAuthor(limit), limit)
	rows, err := s.db.Query(ctx, `
		with aff as (`+forYouInteractions+`
		), feed as (`+forYouPool+`
		), c as (
			select s.id, s.account_id, `+forYouAge+` as age, `+forYouNoise+` as noise
			from feed join statuses s on s.id = feed.status_id
			where `+forYouEligible+`
		), scored as (`+forYouScored+`
		), ranked as (
			select *, `+forYouTotal+` as score from scored
		), capped as (
			select *, row_number() over (partition by account_id order by score desc, id desc) as nth from ranked
		), page as (
			select * from capped where nth <= $14::int order by score desc, id desc limit $15::int
		), served as (
			insert into for_you_served (account_id, status_id, score, affinity, freshness, noise,
				favourites, boosts, replies, age_hours)
			select $1, id, score, affinity, freshness, noise, favs, boosts, replies, age from page
			on conflict do nothing
		), pruned as (
			delete from for_you_served where account_id = $1 and served_at < now() - make_interval(hours => 2 * $4::int)
		)
		select id, account_id, score, affinity, freshness, noise, favs, boosts, replies, age
		from page order by score desc, id desc`, args...)
	if err != nil {
		return nil, fmt.Errorf("for you: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.ForYouItem, error) {
		var it federation.ForYouItem
		err := r.Scan(&it.StatusID, &it.AccountID, &it.Score, &it.Affinity, &it.Freshness, &it.Noise,
			&it.Favourites, &it.Boosts, &it.Replies, &it.AgeHours)
		return it, err
	})
}

// ExplainForYou explains a status the viewer may see: the recorded score
// when it was served, otherwise today's score and what rules it out.
func (s *Store) ExplainForYou(ctx context.Context, accountID, statusID int64) (*federation.ForYouExplanation, error) {
	w := federation.DefaultForYou
	e := &federation.ForYouExplanation{StatusID: statusID, Weights: w}
	var servedAt *time.Time
	var sv struct {
		score, affinity, freshness, noise, age *float64
		favs, boosts, replies                  *int64
	}
	var inFeed, inPool, own, boost, direct, old, hiddenBy, liked, boosted bool
	args := append(forYouArgs(accountID, w), statusID)
	err := s.db.QueryRow(ctx, `
		with aff as (`+forYouInteractions+`
		), c as (
			select s.id, s.account_id, `+forYouAge+` as age, `+forYouNoise+` as noise
			from statuses s where s.id = $14 and `+visible+`
		), scored as (`+forYouScored+`
		), ranked as (
			select *, `+forYouTotal+` as score from scored
		)
		select sc.account_id, sc.score, sc.affinity, sc.freshness, sc.noise, sc.favs, sc.boosts, sc.replies, sc.age,
			`+inHome("s.id")+`,
			exists (select 1 from (`+forYouPool+`) p where p.status_id = s.id),
			s.account_id = $1, s.reblog_of_id is not null, s.visibility = 'direct',
			s.published_at <= now() - make_interval(hours => $4::int),
			(`+hidden+`),
			exists (select 1 from favourites f where f.account_id = $1 and f.status_id = s.id),
			exists (select 1 from statuses r where r.reblog_of_id = s.id and r.account_id = $1),
			v.served_at, v.score, v.affinity, v.freshness, v.noise, v.favourites, v.boosts, v.replies, v.age_hours
		from ranked sc join statuses s on s.id = sc.id
		left join for_you_served v on v.account_id = $1 and v.status_id = s.id`, args...).Scan(
		&e.AccountID, &e.Score, &e.Affinity, &e.Freshness, &e.Noise, &e.Favourites, &e.Boosts, &e.Replies, &e.AgeHours,
		&inFeed, &inPool, &own, &boost, &direct, &old, &hiddenBy, &liked, &boosted,
		&servedAt, &sv.score, &sv.affinity, &sv.freshness, &sv.noise, &sv.favs, &sv.boosts, &sv.replies, &sv.age)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, fmt.Errorf("explain for you: %w", err)
	}
	if servedAt != nil && sv.score != nil {
		e.Served, e.ServedAt = true, *servedAt
		e.Score, e.Affinity, e.Freshness, e.Noise = *sv.score, *sv.affinity, *sv.freshness, *sv.noise
		e.Favourites, e.Boosts, e.Replies, e.AgeHours = *sv.favs, *sv.boosts, *sv.replies, *sv.age
	}
	for _, r := range []struct {
		on  bool
		why string
	}{
		{!inFeed, "not in your home feed: you do not follow its author"},
		{inFeed && !inPool && !e.Served, fmt.Sprintf("not among the newest %d posts of your home feed not served yet, "+
			"nor among the newest %d posts of the %d authors you interact with most", w.Pool, w.ClosestPosts, w.Closest)},
		{own, "your own post"},
		{boost, "a boost: only posts written by the accounts you follow are ranked"},
		{direct, "a direct message"},
		{old, fmt.Sprintf("older than %d hours", w.WindowHours)},
		{hiddenBy, "its author is blocked or muted"},
		{liked, "you favourited it already"},
		{boosted, "you boosted it already"},
		{e.Served, "served to you already"},
	} {
		if r.on {
			e.Reasons = append(e.Reasons, r.why)
		}
	}
	e.Eligible = len(e.Reasons) == 0
	return e, nil
}
