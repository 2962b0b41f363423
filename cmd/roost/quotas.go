package main

import (
	"log/slog"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/admin"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/tenant/quota"
)

// newQuotas is the per-tenant quotas (issue 20), counted in the Redis
// every node shares.
func newQuotas(cfg *config.Config, log *slog.Logger, svc *services) *quota.Service {
	return &quota.Service{Store: svc.tenants, Counter: ratelimitredis.NewWindows(svc.redis), Prefix: cfg.RedisPrefix, Log: log}
}

// Each wiring below leaves its interface nil (not a nil *quota.Service)
// when the node has no quotas, so the caller skips the check.

// requestQuota is the client API's quota of requests per second.
func (s *services) requestQuota() api.RequestQuota {
	if s.quotas == nil {
		return nil
	}
	return s.quotas
}

// adminQuotas backs the tenant page's quotas.
func (s *services) adminQuotas() admin.Quotas {
	if s.quotas == nil {
		return nil
	}
	return s.quotas
}

// withQuotas gives a delivery worker the hourly delivery quota.
func (s *services) withQuotas(w *delivery.Worker) *delivery.Worker {
	if s.quotas != nil {
		w.Quota = s.quotas
	}
	return w
}

// withStorageQuota gives media uploads the storage quota.
func (s *services) withStorageQuota(m *media.Service) *media.Service {
	if s.quotas != nil {
		m.Quota = s.quotas
	}
	return m
}
