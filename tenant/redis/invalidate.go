// Package redis spreads host-cache invalidations between nodes over Redis
// pub/sub.
package redis

import (
	"context"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/tenant"
)

// Channel is the pub/sub channel name, under the configured key prefix.
func Channel(prefix string) string { return prefix + "hosts:changed" }

// Notifier publishes host changes to every node.
type Notifier struct {
	Client  goredis.UniversalClient
	Channel string
}

var _ tenant.Notifier = (*Notifier)(nil)

// HostsChanged publishes the hosts, space separated (hosts hold no spaces).
func (n *Notifier) HostsChanged(ctx context.Context, hosts ...string) error {
	if len(hosts) == 0 {
		return nil // an empty message would mean "forget everything"
	}
	// Bounded: the change is committed; a Redis that does not answer must
	// not hold the admin's request (caches expire within their TTL).
	ctx, cancel := context.WithTimeout(ctx, NotifyTimeout)
	defer cancel()
	return n.Client.Publish(ctx, n.Channel, strings.Join(hosts, " ")).Err()
}

// NotifyTimeout bounds the publication of a host change.
const NotifyTimeout = time.Second

// Subscribe invalidates cache entries as changes are announced, until ctx
// ends. Messages published while the connection was down are lost, so on
// every (re)subscription the whole cache is dropped: a reconnect costs one
// query per host, never a stale answer. ready, when not nil, is closed after
// the first subscription is confirmed.
func Subscribe(ctx context.Context, client goredis.UniversalClient, channel string, cache *tenant.HostCache, log *slog.Logger, ready chan<- struct{}) {
	ps := client.Subscribe(ctx, channel)
	defer ps.Close()
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
					cache.Invalidate()
					log.DebugContext(ctx, "host invalidation channel subscribed", "channel", channel)
					if ready != nil {
						close(ready)
						ready = nil
					}
				}
			case *goredis.Message:
				if hosts := strings.Fields(m.Payload); len(hosts) > 0 {
					cache.Invalidate(hosts...)
				}
			}
		}
	}
}
