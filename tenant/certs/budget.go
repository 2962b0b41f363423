package certs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// A CA limits new orders per ACME account, and every node of an instance
// shares one account (it is in shared storage). A per-node limiter alone
// lets N nodes start N times the orders; OrderBudget counts orders for the
// whole instance in shared storage, over a sliding window like the CA's
// own: Let's Encrypt allows 300 new orders per account per 3 hours.

// OrderWindow is the window the budget counts over (Let's Encrypt's).
const OrderWindow = 3 * time.Hour

// DefaultOrderLimit is the instance's orders per OrderWindow: a third of
// Let's Encrypt's 300, the 3x headroom the renewal plan keeps for retries,
// other clients on the same account and a CA that lowers its limits.
const DefaultOrderLimit = 100

// MaxOrderLimit bounds the stored window (one timestamp per order).
const MaxOrderLimit = 10000

const (
	budgetLock = "roost_order_budget"
	budgetKey  = "roost/orders/window.json"
)

var errOrderBudget = errs.E(errs.Unavailable, "the instance's ACME order budget for the last 3 hours is spent; will retry")

// OrderBudget admits at most Limit new orders per Window across every
// node sharing its Storage.
type OrderBudget struct {
	storage *Storage
	// Limit orders per Window.
	Limit  int
	Window time.Duration
	// Now is the clock (nil: time.Now); tests drive it explicitly.
	Now func() time.Time
}

// NewOrderBudget returns a budget of limit orders per OrderWindow on s
// (limit <= 0: DefaultOrderLimit).
func NewOrderBudget(s *Storage, limit int) *OrderBudget {
	if limit <= 0 {
		limit = DefaultOrderLimit
	}
	return &OrderBudget{storage: s, Limit: min(limit, MaxOrderLimit), Window: OrderWindow}
}

func (b *OrderBudget) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Take records one order and reports whether it fits the budget; a
// refused order records nothing. It fails (and the caller refuses the
// order) when storage cannot be read or written.
func (b *OrderBudget) Take(ctx context.Context) (bool, error) {
	if err := b.storage.Lock(ctx, budgetLock); err != nil {
		return false, fmt.Errorf("order budget lock: %w", err)
	}
	defer func() {
		// An unreleased lock expires after the storage's LockTTL.
		_ = b.storage.Unlock(context.WithoutCancel(ctx), budgetLock)
	}()
	starts, err := b.load(ctx)
	if err != nil {
		return false, err
	}
	now := b.now()
	starts = inWindow(starts, now, b.Window)
	if len(starts) >= b.Limit {
		return false, nil
	}
	starts = append(starts, now.Unix())
	v, err := json.Marshal(starts)
	if err != nil {
		return false, err
	}
	if err := b.storage.Store(ctx, budgetKey, v); err != nil {
		return false, fmt.Errorf("save order budget: %w", err)
	}
	return true, nil
}

// Used returns the orders counted in the window ending now.
func (b *OrderBudget) Used(ctx context.Context) (int, error) {
	starts, err := b.load(ctx)
	if err != nil {
		return 0, err
	}
	return len(inWindow(starts, b.now(), b.Window)), nil
}

func (b *OrderBudget) load(ctx context.Context) ([]int64, error) {
	v, err := b.storage.Load(ctx, budgetKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load order budget: %w", err)
	}
	var starts []int64
	if json.Unmarshal(v, &starts) != nil {
		// A damaged record counts as empty: the per-node limiter still
		// bounds the orders until it is rewritten by the next Take.
		return nil, nil
	}
	return starts, nil
}

// inWindow keeps the starts after now-window (a node whose clock is a
// little ahead still counts), at most
// MaxOrderLimit of them.
func inWindow(starts []int64, now time.Time, window time.Duration) []int64 {
	from := now.Add(-window).Unix()
	kept := starts[:0]
	for _, s := range starts {
		if s > from {
			kept = append(kept, s)
		}
	}
	if len(kept) > MaxOrderLimit {
		kept = kept[len(kept)-MaxOrderLimit:]
	}
	return kept
}
