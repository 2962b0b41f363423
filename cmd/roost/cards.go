package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/jobs"
)

// cardsEvery is the interval of the link preview job: a posted link gets
// its card within about this long.
const cardsEvery = 5 * time.Second

// newCards is the client API's side of link previews (api/mastodon
// cards.go): cards, trending links, the link timeline, card thumbnails.
func newCards(svc *services, images *media.Service) *card.Service {
	return &card.Service{Views: svc.social, Images: images}
}

// cardsJob fetches link preview cards in the background
// (federation/social/card): pages through the one safe outbound client,
// images through the media pipeline into the media store.
func cardsJob(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) jobs.Job {
	var f *card.Fetcher
	return jobs.Job{Name: "link-cards", Every: cardsEvery, Run: func(ctx context.Context) error {
		if f == nil { // the media store is opened (and checked) on the first pass
			m, err := newMedia(ctx, cfg, svc)
			if err != nil {
				return err
			}
			f = &card.Fetcher{Store: svc.social, Web: fd.fetch, Images: m, Ours: fd.keys.Ours, Log: log}
		}
		return f.Pass(ctx)
	}}
}
