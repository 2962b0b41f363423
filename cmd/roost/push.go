package main

import (
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/federation/webpush"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/jobs"
)

// pushEvery is how often `roost work` looks for pushes to send: a push
// is a phone's notification, so within seconds; an idle pass is one
// indexed query.
const pushEvery = 2 * time.Second

// newPush is Web Push's use case: subscriptions and the VAPID keys.
func newPush(svc *services) *push.Service { return &push.Service{Store: svc.social} }

// pushJob sends queued pushes through the safe outbound client.
func pushJob(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) jobs.Job {
	d := &push.Deliverer{Store: svc.social, Keys: newPush(svc), Sender: &webpush.Sender{Fetch: fd.fetch}, Log: log,
		Base: func(domain string) string { return federation.NewLinks(cfg.URLScheme, domain, cfg.PublicPort).Base }}
	return jobs.Job{Name: "web-push", Every: pushEvery, Run: d.Pass}
}
