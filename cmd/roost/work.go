package main

import (
	"context"
	"log/slog"

	"github.com/roost-social/roost/internal/config"
)

func runWork(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	return work(ctx, log, svc)
}

// work runs the background workers until ctx ends. The federation delivery
// queues (issue 3) are the first workers; until they land the process
// only holds its connections and answers for them.
func work(ctx context.Context, log *slog.Logger, svc *services) error {
	log.Info("workers running", "queues", []string{})
	<-ctx.Done()
	log.Info("workers stopped")
	return nil
}
