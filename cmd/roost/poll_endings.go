package main

import (
	"context"
	"log/slog"
	"time"
)

// pollEndingsEvery is how often `roost work` looks for polls that ended.
const pollEndingsEvery = 30 * time.Second

// pollEndingsBatch bounds the polls one transaction notifies.
const pollEndingsBatch = 100

// runPollEndings sends "poll" notifications for ended polls until ctx
// ends (federation/postgres NotifyEndedPolls). Every worker runs it; due
// polls are claimed with SKIP LOCKED, so none is notified twice.
func runPollEndings(ctx context.Context, log *slog.Logger, svc *services) {
	t := time.NewTicker(pollEndingsEvery)
	defer t.Stop()
	for {
		n, err := svc.accounts.NotifyEndedPolls(ctx, nil, pollEndingsBatch)
		if err != nil && ctx.Err() == nil {
			log.Warn("notifying ended polls failed", "err", err)
		}
		if n > 0 {
			log.Debug("ended polls notified", "polls", n)
		}
		if n == pollEndingsBatch && err == nil && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
