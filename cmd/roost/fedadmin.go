package main

import (
	"context"
	"time"

	"github.com/roost-social/roost/api/admin"
	"github.com/roost-social/roost/federation/domainblock"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// fedAdmin is the dashboard's FederationStore: the federation store for
// blocks, hosts and deliveries, the delivery queue for its Redis side and
// this node's block cache.
type fedAdmin struct {
	*fedpg.Store
	fd *fed
}

var _ admin.FederationStore = fedAdmin{}

func newFedAdmin(svc *services, fd *fed) admin.FederationStore {
	return fedAdmin{Store: svc.social, fd: fd}
}

func (f fedAdmin) Streams(ctx context.Context, now time.Time) (*domainblock.Streams, error) {
	return f.fd.queue.Streams(ctx, now)
}

func (f fedAdmin) Dispatch(ctx context.Context, express bool, ids []int64) error {
	return f.fd.queue.Dispatch(ctx, express, ids)
}

func (f fedAdmin) Check(tenantID int64, host string) domainblock.Verdict {
	return f.fd.blocks.Check(tenantID, host)
}

func (f fedAdmin) Refresh(ctx context.Context) error { return f.fd.blocks.Refresh(ctx) }
