package main

import (
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/federation/social/schedule"
	"github.com/roost-social/roost/federation/social/translate"
	"github.com/roost-social/roost/federation/social/translate/libre"
	"github.com/roost-social/roost/internal/config"
)

// newSchedule is the scheduled posts use case: serve keeps and lists
// them (api/mastodon/scheduled.go), work publishes the due ones through
// the outbox. Publishing reads uploads by id only: no file store needed.
func newSchedule(log *slog.Logger, svc *services, fd *fed) *schedule.Service {
	return &schedule.Service{Store: svc.social, Poster: fd.outbox, Log: log, Due: schedule.Due{
		Accounts: svc.social, Views: svc.social, Media: &media.Service{Store: mediapg.New(svc.db)}, Links: fd.locals}}
}

// newAnnouncements is the announcements use case: read, dismissed and
// reacted to through the API, written on the dashboards.
func newAnnouncements(svc *services) *announcement.Service {
	return &announcement.Service{Store: svc.social, Emojis: svc.social}
}

// Translation's outbound caps: one call's time, one answer's size.
const (
	translateTimeout = 10 * time.Second
	translateMaxBody = 256 << 10
)

// newTranslate is translation through ROOST_TRANSLATE_URL, on its own
// safe outbound client (ROOST_FEDERATION_RESOLVE lets it reach a private
// address); off (a Service with no provider) when unset.
func newTranslate(cfg *config.Config, svc *services) (*translate.Service, error) {
	s := &translate.Service{Views: svc.social}
	if cfg.TranslateURL == "" {
		return s, nil
	}
	resolve, err := fetch.ParseResolve(cfg.FederationResolve)
	if err != nil {
		return nil, err
	}
	client := fetch.New(fetch.Config{Resolve: resolve, Timeout: translateTimeout, MaxBody: translateMaxBody, MaxRedirects: -1})
	s.Provider = &libre.Client{URL: cfg.TranslateURL, Key: cfg.TranslateKey, HTTP: client}
	return s, nil
}
