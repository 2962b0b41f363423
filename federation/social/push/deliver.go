package push

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/text"
)

// Delivery bounds and pacing.
const (
	// Batch is how many pushes one claim takes.
	Batch = 50
	// Lease is how long a claimed push is a worker's before another may
	// take it: longer than a batch of sends at the outbound timeout.
	Lease = 2 * time.Minute
	// MaxAttempts bounds the tries of one push (about an hour of
	// back-off); a push is news, not mail.
	MaxAttempts = 8
	// TTL is how long a push service keeps an undelivered push
	// (Mastodon's 48 hours).
	TTL = 48 * time.Hour
	// firstRetry doubles per attempt up to maxRetry.
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
	// maxBatches bounds one pass; the rest waits for the next.
	maxBatches = 20
	// parallel bounds the sends in flight per pass.
	parallel = 8
)

// Deliverer sends queued pushes; `roost work` runs Pass as a job.
type Deliverer struct {
	Store  federation.PushStore
	Keys   *Service
	Sender federation.PushSender
	// Base is a site's base URL ("https://domain"): the VAPID subject
	// and the default avatar.
	Base func(domain string) string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deliverer) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Pass sends the pushes due now, batch after batch while batches come
// back full (bounded), each batch's sends in parallel (bounded).
func (d *Deliverer) Pass(ctx context.Context) error {
	keys, err := d.Keys.Keys(ctx)
	if err != nil {
		return fmt.Errorf("push keys: %w", err)
	}
	for range maxBatches {
		jobs, err := d.Store.ClaimPushes(ctx, d.now(), Lease, Batch)
		if err != nil {
			return fmt.Errorf("claim pushes: %w", err)
		}
		if err := d.sendAll(ctx, keys, jobs); err != nil {
			return err
		}
		if len(jobs) < Batch || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

func (d *Deliverer) sendAll(ctx context.Context, keys federation.VAPIDKeys, jobs []federation.PushJob) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	slots := make(chan struct{}, parallel)
	for _, j := range jobs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := d.send(ctx, keys, j); err != nil {
				mu.Lock()
				first = cmpErr(first, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// send makes one attempt at j and records its outcome. Only failing to
// record is an error: a push that fails is retried or dropped.
func (d *Deliverer) send(ctx context.Context, keys federation.VAPIDKeys, j federation.PushJob) (err error) {
	defer func() { // one bad row must not stop the others, nor come back forever
		if r := recover(); r != nil {
			d.log().Error("push panicked; dropped", "push", j.ID, "panic", r)
			err = d.Store.PushSent(ctx, j.ID)
		}
	}()
	token, err := unseal(keys, j.Subscription.SealedToken)
	if err != nil {
		d.log().Error("push subscription token does not open; subscription dropped", "subscription", j.Subscription.ID, "err", err)
		return d.Store.DropPushSubscription(ctx, j.Subscription.ID)
	}
	base := d.Base(j.Notification.Domain)
	body, err := payload(j.Notification, token, base)
	if err != nil {
		return d.Store.PushSent(ctx, j.ID)
	}
	status, sendErr := d.Sender.SendPush(ctx, federation.PushMessage{
		Endpoint: j.Subscription.Endpoint, P256DH: j.Subscription.P256DH, Auth: j.Subscription.Auth,
		Payload: body, Subject: base, TTL: TTL, Urgency: "normal",
	}, keys)
	return d.record(ctx, j, status, sendErr)
}

// record applies Mastodon's rules to an answer: 2xx sent; 404 and 410
// end the subscription (the app unsubscribed or was uninstalled); 429,
// 5xx, 408 and no answer are retried with back-off up to MaxAttempts;
// any other answer will not change, and the push is given up. An
// endpoint the safe client can never reach ends the subscription.
func (d *Deliverer) record(ctx context.Context, j federation.PushJob, status int, sendErr error) error {
	log := d.log().With("push", j.ID, "subscription", j.Subscription.ID, "attempt", j.Attempts)
	switch {
	case sendErr != nil && permanent(sendErr):
		log.Info("push endpoint refused; subscription dropped", "reason", errs.MessageOf(sendErr))
		return d.Store.DropPushSubscription(ctx, j.Subscription.ID)
	case sendErr == nil && status >= 200 && status < 300:
		return d.Store.PushSent(ctx, j.ID)
	case status == http.StatusNotFound || status == http.StatusGone:
		log.Info("push subscription gone; dropped", "status", status)
		return d.Store.DropPushSubscription(ctx, j.Subscription.ID)
	case sendErr == nil && !retryable(status):
		log.Warn("push refused; given up", "status", status)
		return d.Store.PushSent(ctx, j.ID)
	case j.Attempts >= MaxAttempts:
		log.Warn("push failed too often; given up", "status", status, "reason", reason(status, sendErr))
		return d.Store.PushSent(ctx, j.ID)
	}
	return d.Store.RetryPush(ctx, j.ID, d.now().Add(backoff(j.Attempts)), reason(status, sendErr))
}

// permanent: a request that can never be made (an address the safe
// client refuses, plain http, a malformed URL, keys that do not encrypt).
func permanent(err error) bool {
	c := errs.CodeOf(err)
	return c == errs.Forbidden || c == errs.Invalid
}

func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

func reason(status int, err error) string {
	if err != nil {
		return text.Clip(errs.MessageOf(err), 300)
	}
	return fmt.Sprintf("push service answered %d", status)
}

// backoff is the wait after attempt n (1-based): 30 s doubling, capped.
func backoff(n int) time.Duration {
	w := firstRetry
	for i := 1; i < n && w < maxRetry; i++ {
		w *= 2
	}
	return min(w, maxRetry)
}
