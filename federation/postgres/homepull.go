package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Issue 21, posting: authors with large local audiences are read, not
// written (migration 060). Their followers' home timelines merge the
// authors' recent statuses with the feed's rows; their posts are filed
// only for themselves and the accounts they mention.

// PulledFollowees lists the marked authors viewerID follows (accepted):
// the authors whose posts reach the viewer's home timeline by reading,
// and whose channels the viewer's user streams hear.
func (s *Store) PulledFollowees(ctx context.Context, viewerID int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, pulledFolloweesSQL, viewerID)
	if err != nil {
		return nil, fmt.Errorf("pulled followees: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("pulled followees: %w", err)
	}
	return ids, nil
}

// pulledFolloweesSQL lists viewer $1's accepted follows of marked authors.
const pulledFolloweesSQL = `select f.followee_id from follows f join home_pull_authors p on p.account_id = f.followee_id
	where f.follower_id = $1 and f.state = 'accepted' order by f.followee_id`

// inPulledHome is a condition on a status (alias st, never input): it is
// on viewer $1's home timeline by reading: its author is marked, the
// viewer follows them (and takes their boosts, for a boost), and it is
// not direct (direct statuses reach their mentioned accounts' rows).
// Visibility and hides are the caller's, as for a feed row.
func inPulledHome(st string) string {
	return `(` + st + `.visibility <> 'direct' and exists (select 1 from home_pull_authors hp
		join follows hf on hf.followee_id = hp.account_id and hf.follower_id = $1 and hf.state = 'accepted'
		where hp.account_id = ` + st + `.account_id and (` + st + `.reblog_of_id is null or hf.show_reblogs)))`
}

// inHome is a condition on a status id column (col, never input): the
// status is on viewer $1's home timeline, by a feed row or by reading.
func inHome(col string) string {
	return `(exists (select 1 from home_feeds h where h.account_id = $1 and h.status_id = ` + col + `)
		or exists (select 1 from statuses hs where hs.id = ` + col + ` and ` + inPulledHome("hs") + `))`
}

// pulledRecent lists the newest statuses (at most limit, an SQL
// expression) of each read author viewer $1 follows that are on the
// viewer's home timeline by reading, those matching cond (on ps) only,
// as rows of one column, id.
func pulledRecent(cond, limit string) string {
	return `select pp.id from follows hf join home_pull_authors hp on hp.account_id = hf.followee_id
		cross join lateral (select ps.id from statuses ps where ps.account_id = hf.followee_id
			and ps.visibility <> 'direct' and (ps.reblog_of_id is null or hf.show_reblogs) and ` + cond + `
			order by ps.id desc limit ` + limit + `) pp
		where hf.follower_id = $1 and hf.state = 'accepted'`
}
