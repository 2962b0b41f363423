package main

import (
	"context"
	"log/slog"

	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation/cached"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/internal/jobs"
)

// newNodeCaches are a web node's in-process caches of hot, rarely-changing
// objects (internal/hotcache) beside the access tokens (serve.go): local
// accounts by name (WebFinger, actors, profiles) and rendered instance
// documents (set on m). The job listens
// for the database's change announcements (migration 046); until it
// listens the caches serve nothing.
func newNodeCaches(log *slog.Logger, svc *services, set *hotcache.Set, m *mastodon.Handler) (*cached.Accounts, jobs.Job) {
	m.InstanceDocs = mastodon.NewInstanceDocs(set)
	m.HomePages = mastodon.NewHomePages(set, 0) // rendered home pages (api/mastodon/homecache.go)
	// What viewers hide (filters, blocked domains, exclusive lists) is
	// read fresh when rendering timelines: cached, a change made on one
	// request was not yet seen by the next until the node heard the
	// database's announcement (TestMoreClientAPI/DomainBlocks in CI), and
	// a person must see their own change at once. cached.Viewers stays
	// for when writes evict locally too.
	m.Viewings = &filter.Service{Store: svc.social, Statuses: m.Views, Hidden: svc.social}
	listener := &fedpg.CacheChanges{DB: svc.db, Cache: set, Log: log}
	return cached.NewAccounts(set, svc.social), jobs.Job{Name: "cache-invalidations", Run: func(ctx context.Context) error {
		listener.Run(ctx)
		return nil
	}}
}
