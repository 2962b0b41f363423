package portability

import (
	"context"
	"net/url"
	"strings"

	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/portability/archive"
)

// rowBatch is how many rows one transaction restores or queues.
const rowBatch = 500

// follows queues the archive's follows, a batch at a time; roost work
// sends them over time (FollowSender), spread per server.
func (r *run) follows(ctx context.Context) error {
	spread := r.im.Spread
	if spread.Burst <= 0 || spread.Interval <= 0 || spread.Max <= 0 {
		spread = archive.DefaultSpread
	}
	var targets, hosts []string
	flush := func() error {
		if len(targets) == 0 {
			return nil
		}
		queued, over, err := r.im.Store.QueueFollows(ctx, r.req.ImportID, r.req.Local, targets, hosts, spread, r.im.now())
		if err != nil {
			return err
		}
		r.sum.FollowsQueued += queued
		r.sum.FollowsAlready += len(targets) - queued - over
		if over > 0 {
			r.sum.FollowsSkipped += over
			r.sum.Problem("follows: %d not queued, over the limit of %d accounts followed", over, spread.Max)
		}
		targets, hosts = targets[:0], hosts[:0]
		return nil
	}
	err := r.a.EachRow(archive.Following, func(row []string) error {
		target, host, ok := followTarget(row[0])
		if !ok {
			r.sum.FollowsSkipped++
			r.sum.Problem("follow %s: not an account address", row[0])
			return nil
		}
		targets, hosts = append(targets, target), append(hosts, host)
		if len(targets) == rowBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// followTarget reads a following_accounts.csv address (user@host, or an
// actor URI) as the target to follow, handles in lower case so one
// account is queued once, and its host.
func followTarget(s string) (target, host string, ok bool) {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" || len(s) > 2048 {
			return "", "", false
		}
		return s, strings.ToLower(u.Hostname()), true
	}
	res, err := ap.ParseResource("acct:" + strings.TrimPrefix(s, "@"))
	if err != nil || res.Username == "" || res.Host == "" {
		return "", "", false
	}
	return strings.ToLower(res.Username + "@" + res.Host), strings.ToLower(res.Host), true
}

// restore restores blocks, mutes, lists and bookmarks, a batch of rows
// per transaction.
func (r *run) restore(ctx context.Context) error {
	for _, kind := range []archive.Kind{archive.Blocks, archive.Mutes, archive.Lists, archive.Bookmarks, archive.DomainBlocks} {
		if kind == r.a.Overwrite { // a lone CSV in overwrite mode replaces the list
			if err := r.im.Store.ClearRows(ctx, r.req.Local, kind); err != nil {
				return err
			}
		}
		var rows [][]string
		flush := func() error {
			if len(rows) == 0 {
				return nil
			}
			n, skipped, err := r.im.Store.RestoreRows(ctx, r.req.Local, kind, rows)
			if err != nil {
				return err
			}
			r.sum.Restored += n
			r.sum.Skipped += len(skipped)
			for _, s := range skipped {
				r.sum.Problem("%s", s)
			}
			rows = rows[:0]
			return nil
		}
		err := r.a.EachRow(kind, func(row []string) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rows = append(rows, row); len(rows) == rowBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
