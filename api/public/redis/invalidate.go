// Package redis carries the public pages' cache invalidations
// (api/public PageCache) from the database to every web node over Redis
// pub/sub: the elected streaming relay hands it the database's "pages"
// events (migrations/042), and each node's subscription drops the pages
// that showed what changed.
package redis

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cache is what the subscription drops pages from (api/public
// PageCache).
type Cache interface {
	Invalidate(keys ...string)
	InvalidateAll()
}

// Channel is the pub/sub channel, under the configured key prefix.
func Channel(prefix string) string { return prefix + "pages:changed" }

// event is what the database announces: the keys of what changed.
type event struct {
	Event string   `json:"e"`
	Keys  []string `json:"k"`
}

// Publisher publishes the database's page events to every node.
type Publisher struct {
	Client  goredis.UniversalClient
	Channel string
	Log     *slog.Logger
}

// Publish publishes payload's keys when it is a page event and reports
// whether it was one (the relay passes every other payload on to
// streaming). A page event Redis refuses is logged and lost: the pages'
// age bound (PageCache's TTL) then ends their staleness.
func (p *Publisher) Publish(ctx context.Context, payload string) bool {
	if len(payload) < 12 || payload[:12] != `{"e": "pages` { // jsonb's text: keys by length, then name
		return false
	}
	var e event
	if err := json.Unmarshal([]byte(payload), &e); err != nil || e.Event != "pages" {
		return false
	}
	if len(e.Keys) == 0 {
		return true
	}
	body, err := json.Marshal(e.Keys)
	if err != nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Client.Publish(ctx, p.Channel, body).Err(); err != nil && p.Log != nil {
		p.Log.Warn("public pages: publishing an invalidation failed; the pages expire by age", "err", err)
	}
	return true
}

// Subscribe drops cached pages as changes are announced, until ctx ends.
// Messages published while the connection was down are lost, so every
// (re)subscription drops the whole cache. ready, when not nil, is closed
// after the first subscription is confirmed.
func Subscribe(ctx context.Context, client goredis.UniversalClient, channel string, cache Cache,
	log *slog.Logger, ready chan<- struct{}) {
	ps := client.Subscribe(ctx, channel)
	defer func() { _ = ps.Close() }()
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *goredis.Subscription:
				if m.Kind == "subscribe" {
					cache.InvalidateAll()
					if ready != nil {
						close(ready)
						ready = nil
					}
				}
			case *goredis.Message:
				var keys []string
				if err := json.Unmarshal([]byte(m.Payload), &keys); err != nil {
					log.WarnContext(ctx, "public pages: unreadable invalidation; dropping every page", "err", err)
					cache.InvalidateAll()
					continue
				}
				cache.Invalidate(keys...)
			}
		}
	}
}
