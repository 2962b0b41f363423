package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/hotcache"
)

// CacheChannel is the channel migration 046's triggers announce changed
// accounts and tenants on.
const CacheChannel = "roost_cache"

// CacheSet is what hears the announcements: a node's in-process caches.
type CacheSet interface {
	Evict(tags ...hotcache.Tag)
	SetOnline(on bool)
}

// CacheChanges keeps a node's caches in step with the database: it LISTENs
// on CacheChannel over a connection of its own and evicts what every
// announcement names. The caches are online only while it listens: when
// the connection is lost they are emptied and bypassed (every request
// reads PostgreSQL) until it listens again, so a change announced while
// nobody heard it is never served stale.
type CacheChanges struct {
	DB    *pgxpool.Pool
	Cache CacheSet
	Log   *slog.Logger
	// Ping is how long it waits for an announcement before checking its
	// connection (default 30 s).
	Ping time.Duration
}

// Run listens until ctx ends, reconnecting with backoff.
func (l *CacheChanges) Run(ctx context.Context) {
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		started := time.Now()
		err := l.session(ctx)
		l.Cache.SetOnline(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 0
		}
		backoff = min(max(2*backoff, 250*time.Millisecond), 30*time.Second)
		wait := backoff/2 + rand.N(backoff/2+1)
		log.Warn("cache invalidation listener lost its connection; serving without in-process caches until it is back", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (l *CacheChanges) session(ctx context.Context) error {
	pc, err := l.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // held for LISTEN; the pool forgets it
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `listen `+pgx.Identifier{CacheChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	l.Cache.SetOnline(true) // empties first: nothing from before is trusted
	ping := l.Ping
	if ping <= 0 {
		ping = 30 * time.Second
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, ping)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = conn.Exec(pctx, `select 1`)
			cancel()
			if err != nil {
				return fmt.Errorf("cache listener ping: %w", err)
			}
			continue
		}
		if tags, ok := CacheTags(n.Payload); ok {
			l.Cache.Evict(tags...)
		} else {
			// Unknown: forget everything rather than keep a stale copy.
			l.Cache.SetOnline(true)
		}
	}
}

// CacheTags reads an announcement: "a <account> <tenant>" names the
// account, "k <token> <tenant>" an OAuth access token, "v <account>" what
// that viewer hides, "t <tenant>" the tenant (and so everything of it);
// for timeline pages (migration 054) "s <status>" and "S <status>..."
// statuses, "A <account>" an account as shown, "V <account>..." viewers,
// "g 0" every page; "P <account>" a read author's new post (migration
// 060).
func CacheTags(payload string) ([]hotcache.Tag, bool) {
	f := strings.Fields(payload)
	if len(f) < 2 {
		return nil, false
	}
	if kind, ok := pageKinds[f[0]]; ok {
		return pageTags(kind, f[1:])
	}
	id, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, false
	}
	switch {
	case f[0] == "a" && len(f) == 3:
		return []hotcache.Tag{{Kind: hotcache.Account, ID: id}}, true
	case f[0] == "k" && len(f) == 3:
		return []hotcache.Tag{{Kind: hotcache.Token, ID: id}}, true
	case f[0] == "v" && len(f) == 2:
		return []hotcache.Tag{{Kind: hotcache.Viewer, ID: id}}, true
	case f[0] == "t" && len(f) == 2:
		return []hotcache.Tag{{Kind: hotcache.Tenant, ID: id}}, true
	}
	return nil, false
}

// pageKinds are migration 054's payloads of one or many ids.
var pageKinds = map[string]hotcache.Kind{"s": hotcache.Status, "S": hotcache.Status, "A": hotcache.Shown,
	"V": hotcache.Viewer, "g": hotcache.Timelines, "P": hotcache.Posts}

// pageTags are the tags of ids of kind (at most 300 in a payload).
func pageTags(kind hotcache.Kind, ids []string) ([]hotcache.Tag, bool) {
	if len(ids) > 300 {
		return nil, false
	}
	tags := make([]hotcache.Tag, 0, len(ids))
	for _, s := range ids {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, false
		}
		tags = append(tags, hotcache.Tag{Kind: kind, ID: id})
	}
	return tags, true
}
