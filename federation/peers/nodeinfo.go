// Package peers keeps what Roost knows about the remote servers it
// federates with: the software and version each runs, read from its
// NodeInfo, for the federation pages of the dashboards. `roost work`
// runs NodeInfo.Pass as a job; fetches go through the safe client
// (federation/fetch: SSRF-safe dialer, caps, deadline).
package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"log/slog"
	"strings"
	"time"

	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
)

// Refresh timing and bounds.
const (
	// Every is how often a host's NodeInfo is refreshed when it answers;
	// failures back off from a minute up to a day.
	Every = 24 * time.Hour
	// Lease is how long a claimed host stays claimed by one worker.
	Lease = 10 * time.Minute
	// Batch bounds the hosts one pass fetches.
	Batch = 20
	// maxName bounds the software name and version kept.
	maxName = 100
	// maxError bounds the stored failure reason.
	maxError = 500
)

// Store is where hosts due for NodeInfo are claimed and results recorded
// (federation/postgres).
type Store interface {
	// DueNodeInfo claims up to limit due hosts for lease.
	DueNodeInfo(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]string, error)
	// NodeInfoFailures is how many fetches of host failed in a row.
	NodeInfoFailures(ctx context.Context, host string) (int, error)
	// RecordNodeInfo stores a fetch: software and version, or fetchErr
	// ("" on success), and when host is due next.
	RecordNodeInfo(ctx context.Context, host, software, version, fetchErr string, at, next time.Time) error
}

// Fetcher reads JSON documents from remote hosts (*fetch.Client).
type Fetcher interface {
	GetJSON(ctx context.Context, rawURL, accept string, allowedTypes []string) ([]byte, error)
	// DiscoveryURL is the URL of a well-known path on host, over the
	// peer's scheme (https, or what ROOST_FEDERATION_RESOLVE fixes for a
	// test host), not this instance's.
	DiscoveryURL(host, pathQuery string) string
}

// NodeInfo refreshes remote hosts' software and version.
type NodeInfo struct {
	Store Store
	Fetch Fetcher
	Log   *slog.Logger
	Now   func() time.Time // time.Now when nil
}

// Pass fetches the NodeInfo of up to Batch due hosts and records each
// result. A host that fails is recorded with a safe reason and backs off;
// store errors are returned, after the other hosts are done.
func (n *NodeInfo) Pass(ctx context.Context) error {
	hosts, err := n.Store.DueNodeInfo(ctx, n.now(), Lease, Batch)
	if err != nil {
		return fmt.Errorf("list hosts due for NodeInfo: %w", err)
	}
	var failed []error
	for _, h := range hosts {
		if ctx.Err() != nil {
			return nil // the rest stay leased and come back after Lease
		}
		if err := n.refresh(ctx, h); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// refresh fetches one host's NodeInfo and records it.
func (n *NodeInfo) refresh(ctx context.Context, host string) error {
	sw, ver, ferr := n.fetch(ctx, host)
	now := n.now()
	next, msg := now.Add(Every), ""
	if ferr != nil {
		msg = fetch.Reason(ferr) // tenants see it: no addresses (issue 14, finding 6)
		n.log().Debug("NodeInfo fetch failed", "host", host, "err", ferr)
		fails, err := n.Store.NodeInfoFailures(ctx, host)
		if err != nil {
			n.log().Warn("reading NodeInfo failures; backing off from a minute", "host", host, "err", err)
		}
		next = now.Add(min(time.Minute<<min(fails, 10), 24*time.Hour))
	}
	if err := n.Store.RecordNodeInfo(ctx, host, sw, ver, text.Cut(msg, maxError), now, next); err != nil {
		return fmt.Errorf("record NodeInfo of %s: %w", host, err)
	}
	return nil
}

// fetch reads a host's discovery document, then the newest NodeInfo it
// links on the host itself, and returns the software's name and version.
func (n *NodeInfo) fetch(ctx context.Context, host string) (string, string, error) {
	body, err := n.Fetch.GetJSON(ctx, n.Fetch.DiscoveryURL(host, "/.well-known/nodeinfo"), "application/json",
		[]string{"application/json", "application/jrd+json"})
	if err != nil {
		return "", "", err
	}
	var links ap.NodeInfoLinks
	if err := json.Unmarshal(body, &links); err != nil {
		return "", "", errs.E(errs.Invalid, "the NodeInfo discovery document is not JSON")
	}
	href := ""
	for _, l := range links.Links {
		if strings.HasPrefix(l.Rel, "http://nodeinfo.diaspora.software/ns/schema/2.") && l.Href > "" {
			href = l.Href // later links are newer versions, by convention
		}
	}
	if href == "" || ap.HostOf(href) != strings.ToLower(host) {
		return "", "", errs.E(errs.Invalid, "no NodeInfo 2.x link on the host itself")
	}
	if body, err = n.Fetch.GetJSON(ctx, href, "application/json", []string{"application/json"}); err != nil {
		return "", "", err
	}
	var ni ap.NodeInfo
	if err := json.Unmarshal(body, &ni); err != nil {
		return "", "", errs.E(errs.Invalid, "the NodeInfo document is not JSON")
	}
	return text.Cut(ni.Software.Name, maxName), text.Cut(ni.Software.Version, maxName), nil
}

func (n *NodeInfo) now() time.Time {
	if n.Now == nil {
		return time.Now()
	}
	return n.Now()
}

func (n *NodeInfo) log() *slog.Logger {
	if n.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Log
}
