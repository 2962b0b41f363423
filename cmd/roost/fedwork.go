package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
)

// Background work of the federation pages, run by roost work: NodeInfo of
// known remote hosts and block-list subscriptions, both fetched through
// the safe client (federation/fetch: SSRF-safe dialer, caps, deadline).

// nodeInfoEvery is how often a host's NodeInfo is refreshed when it
// answers; failures back off from a minute up to a day.
const nodeInfoEvery = 24 * time.Hour

// NodeInfo goes out over the peer's scheme (fetch.DiscoveryURL: https, or
// what ROOST_FEDERATION_RESOLVE fixes for a test host), not this
// instance's ROOST_URL_SCHEME; the parameter is kept for the caller.
func runNodeInfo(ctx context.Context, _ string, log *slog.Logger, svc *services, fd *fed) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		hosts, err := svc.accounts.DueNodeInfo(ctx, time.Now(), 10*time.Minute, 20)
		if err != nil && ctx.Err() == nil {
			log.Warn("listing hosts due for NodeInfo", "err", err)
		}
		for _, h := range hosts {
			if ctx.Err() != nil {
				return
			}
			sw, ver, ferr := fetchNodeInfo(ctx, fd, h)
			now, next, msg := time.Now(), time.Now().Add(nodeInfoEvery), ""
			if ferr != nil {
				msg = fetch.Reason(ferr) // tenants see it: no addresses (issue 14, finding 6)
				log.Debug("NodeInfo fetch failed", "host", h, "err", ferr)
				fails, _ := svc.accounts.NodeInfoFailures(ctx, h)
				next = now.Add(min(time.Minute<<min(fails, 10), 24*time.Hour))
			}
			if err := svc.accounts.RecordNodeInfo(ctx, h, sw, ver, truncateStr(msg, 500), now, next); err != nil {
				log.Warn("recording NodeInfo", "host", h, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fetchNodeInfo reads a host's discovery document, then the newest
// NodeInfo it links, and returns the software's name and version.
func fetchNodeInfo(ctx context.Context, fd *fed, host string) (string, string, error) {
	body, err := fd.fetch.GetJSON(ctx, fd.fetch.DiscoveryURL(host, "/.well-known/nodeinfo"), "application/json",
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
	if body, err = fd.fetch.GetJSON(ctx, href, "application/json", []string{"application/json"}); err != nil {
		return "", "", err
	}
	var ni ap.NodeInfo
	if err := json.Unmarshal(body, &ni); err != nil {
		return "", "", errs.E(errs.Invalid, "the NodeInfo document is not JSON")
	}
	return truncateStr(ni.Software.Name, 100), truncateStr(ni.Software.Version, 100), nil
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// subscriptionEvery is how often a subscribed block list is fetched.
const subscriptionEvery = 6 * time.Hour

// runBlocklistSubscriptions fetches due subscribed lists and applies each
// that changes something as one import (undoable from the blocks page).
func runBlocklistSubscriptions(ctx context.Context, log *slog.Logger, svc *services, fd *fed) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			sub, err := svc.accounts.ClaimDueSubscription(ctx, time.Now(), 10*time.Minute)
			if errs.Is(err, errs.NotFound) {
				break
			}
			if err != nil {
				log.Warn("claiming block-list subscription", "err", err)
				break
			}
			importID, ferr := refreshSubscription(ctx, svc, fd, sub)
			msg := ""
			if ferr != nil {
				msg = fetch.Reason(ferr) // tenants see it: no addresses (issue 14, finding 6)
				log.Warn("block-list subscription refresh failed", "url", sub.URL, "err", ferr)
			}
			now := time.Now()
			if err := svc.accounts.RecordSubscriptionFetch(ctx, sub.ID, now, now.Add(subscriptionEvery), "", msg, importID); err != nil {
				log.Warn("recording block-list fetch", "url", sub.URL, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func refreshSubscription(ctx context.Context, svc *services, fd *fed, sub *domainblock.Subscription) (int64, error) {
	body, err := fd.fetch.GetJSON(ctx, sub.URL, "text/csv, text/plain;q=0.9",
		[]string{"text/csv", "text/plain", "application/csv", "application/octet-stream"})
	if err != nil {
		return 0, err
	}
	list, err := domainblock.ParseList(body)
	if err != nil {
		return 0, err
	}
	changes, err := svc.accounts.PreviewImport(ctx, sub.TenantID, list)
	if err != nil {
		return 0, err
	}
	changed := false
	for _, c := range changes {
		changed = changed || c.Kind != domainblock.Unchanged
	}
	if !changed {
		return 0, nil
	}
	imp, err := svc.accounts.ApplyImport(ctx, sub.TenantID, "subscription "+truncateStr(sub.URL, 1900), domainblock.By{Email: ""}, list)
	if err != nil {
		return 0, err
	}
	return imp.ID, fd.blocks.Refresh(ctx)
}
