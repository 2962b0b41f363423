package streaming

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The Redis channels, under the instance's key prefix; one per stream and
// audience. A tenant's public and hashtag channels carry only what that
// tenant's timeline holds.
func userChannel(accountID int64) string { return "stream:user:" + itoa(accountID) }
func notificationChannel(accountID int64) string {
	return "stream:user:notification:" + itoa(accountID)
}
func directChannel(accountID int64) string { return "stream:direct:" + itoa(accountID) }
func publicChannel(tenantID int64, scope string) string {
	if scope == "" {
		return "stream:public:" + itoa(tenantID)
	}
	return "stream:public:" + scope + ":" + itoa(tenantID)
}
func hashtagChannel(tenantID int64, local bool, tag string) string {
	if local {
		return "stream:hashtag:local:" + itoa(tenantID) + ":" + tag
	}
	return "stream:hashtag:" + itoa(tenantID) + ":" + tag
}

// authorChannel carries the statuses of an author whose followers' home
// timelines read them (migration 060: no feed row announces them on the
// followers' user channels); user and list streams of the followers
// listen to it (homepull.go).
func authorChannel(accountID int64) string { return authorPrefix + itoa(accountID) }

const authorPrefix = "stream:author:"

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// dbEvent is what the database announces (migrations/010_streaming.sql).
type dbEvent struct {
	Event   string   `json:"e"`
	ID      int64    `json:"id"`
	Users   []int64  `json:"u"`
	Direct  []int64  `json:"c"`
	Local   []int64  `json:"pl"`
	Remote  []int64  `json:"pr"`
	Hashtag []string `json:"tags"`
	// Authors whose followers' user streams hear the event (migration
	// 060): a status of an author whose followers read it.
	Authors []int64 `json:"a"`
}

// message is what a Redis channel carries: the event and the id of what
// to render, per viewer, on each node.
type message struct {
	Event string `json:"e"`
	ID    int64  `json:"id"`
}

// knownEvents are the events published and heard. "pull" and "unpull"
// (id: an author) are internal: they tell a follower's user streams to
// start or stop hearing the author's channel (homepull.go), and are
// never sent to a client.
var knownEvents = map[string]bool{"update": true, "notification": true, "delete": true, "status.update": true,
	"conversation": true, "filters_changed": true, "pull": true, "unpull": true}

// channels lists the Redis channels (without prefix) an event goes to.
func (e *dbEvent) channels() []string {
	var out []string
	for _, id := range e.Users {
		out = append(out, userChannel(id))
		if e.Event == "notification" {
			out = append(out, notificationChannel(id))
		}
	}
	for _, id := range e.Direct {
		out = append(out, directChannel(id))
	}
	for _, t := range e.Local {
		out = append(out, publicChannel(t, ""), publicChannel(t, "local"))
		for _, tag := range e.Hashtag {
			out = append(out, hashtagChannel(t, false, tag), hashtagChannel(t, true, tag))
		}
	}
	for _, t := range e.Remote {
		out = append(out, publicChannel(t, ""), publicChannel(t, "remote"))
		for _, tag := range e.Hashtag {
			out = append(out, hashtagChannel(t, false, tag))
		}
	}
	for _, id := range e.Authors {
		out = append(out, authorChannel(id))
	}
	return out
}

// Publisher publishes the database's streaming events to Redis, where
// every web node's Hub hears them. The relay (federation/postgres) feeds
// it.
type Publisher struct {
	Redis  goredis.UniversalClient
	Prefix string // ROOST_REDIS_PREFIX
	Log    *slog.Logger

	// lost is set when an event could not be published: the next
	// publish that works carries a reset too (soak finding 4).
	lost atomic.Bool
}

// resetChannel tells every node's Hub that events were lost (the relay's
// LISTEN session ended, or Redis refused a publish): the hub ends every
// streaming connection, and apps reconnect and catch up by paging. No
// stream channel has only two segments, so it names none of them.
const resetChannel = "stream:reset"

// Reset tells every node to drop its streaming connections, because
// events may have been lost before now (Relay.Elected calls it at the
// start of each relay session). A reset Redis refuses is remembered and
// sent with the next event.
func (p *Publisher) Reset(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Redis.Publish(ctx, p.Prefix+resetChannel, "{}").Err(); err != nil {
		p.lost.Store(true)
		p.log().Warn("streaming: publishing a reset to Redis failed; sent with the next event", "err", err)
		return
	}
	p.lost.Store(false)
}

// Publish sends one database payload to the channels of its audience, in
// one round trip. A payload it cannot read is dropped and logged; so is
// one Redis refuses (streaming is best effort).
func (p *Publisher) Publish(ctx context.Context, payload string) {
	var e dbEvent
	if err := json.Unmarshal([]byte(payload), &e); err != nil || !knownEvents[e.Event] || e.ID <= 0 {
		p.log().Warn("streaming: unreadable event dropped", "payload", payload, "err", err)
		return
	}
	chans := e.channels()
	if len(chans) == 0 {
		return
	}
	body, _ := json.Marshal(message{Event: e.Event, ID: e.ID})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pipe := p.Redis.Pipeline()
	for _, ch := range chans {
		pipe.Publish(ctx, p.Prefix+ch, body)
	}
	lost := p.lost.Load()
	if lost {
		pipe.Publish(ctx, p.Prefix+resetChannel, "{}") // after the event: its listeners page past it
	}
	if _, err := pipe.Exec(ctx); err != nil {
		p.lost.Store(true)
		p.log().Warn("streaming: publishing to Redis failed; event dropped", "event", e.Event, "id", e.ID, "err", err)
		return
	}
	if lost {
		p.lost.Store(false)
	}
}

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
