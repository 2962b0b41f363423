package delivery

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/jobs"
)

// Worker consumes the delivery streams. Several workers (processes) share
// the consumer group; each needs a unique Consumer name.
type Worker struct {
	Queue    *Queue
	Fetch    *fetch.Client
	Consumer string
	// KeyID returns the key id a local account signs with.
	KeyID func(ctx context.Context, a *federation.Account) (string, error)
	// InstanceSign signs as the instance actor of the request context's
	// acting host, for deliveries with an ActingHost (forwarded reports);
	// nil fails those deliveries rather than sign them as their sender.
	InstanceSign fetch.Signer
	// Concurrency is the number of deliveries in flight (default 64);
	// PerHost caps those to one host (default 8).
	Concurrency, PerHost int
	// GiveUpAfter is how long a delivery is retried (default 3 days).
	GiveUpAfter time.Duration
	// ClaimIdle is how long a stream entry may sit unacknowledged with a
	// consumer before another takes it over (default 1 minute).
	ClaimIdle time.Duration
	// SweepEvery is how often due rows are re-dispatched (default 5 s).
	SweepEvery time.Duration
	Log        *slog.Logger
	Now        func() time.Time
	// Blocks are the domain blocks in force: a delivery to a domain
	// suspended for its sender's tenant fails at once, unattempted.
	Blocks interface {
		Suspended(tenantID int64, host string) bool
	}
	// Hosts, when set, records hosts' delivery health (health.go).
	Hosts HostRecorder
	// Quota, when set, admits each tenant's deliveries within its hourly
	// quota (tenant/quota); the rest wait for the next hour, never dropped.
	Quota interface {
		AdmitDeliveries(ctx context.Context, tenantID int64, n int) (admitted int, until time.Time)
	}

	health hostHealth

	breakers breakers
	hosts    *hostSlots
	done     chan done
	keys     sync.Map // private key PEM → parsed key: parsing costs more than a tenth of a signature
	nkeys    atomic.Int64
	flightMu sync.Mutex
	inFlight map[int64]struct{} // rows being attempted or recorded here
	// readBackoff spaces reads while Redis fails (read's goroutine only).
	readBackoff jobs.Backoff
	// cursor is the tenant the next fair claim starts after (read's
	// goroutine only).
	cursor int64
	// busy counts the pool's workers attempting a delivery.
	busy atomic.Int64
	// signs bounds the signatures computed at once (signgate.go).
	signs *signGate
	// digests are recent activities' body digests (digest.go).
	digests digests
}

func (w *Worker) defaults() {
	if w.Concurrency == 0 {
		w.Concurrency = 64
	}
	if w.PerHost == 0 {
		w.PerHost = 8
	}
	if w.GiveUpAfter == 0 {
		w.GiveUpAfter = 72 * time.Hour
	}
	if w.ClaimIdle == 0 {
		w.ClaimIdle = time.Minute
	}
	if w.SweepEvery == 0 {
		w.SweepEvery = 5 * time.Second
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	w.hosts = newHostSlots()
	w.inFlight = map[int64]struct{}{}
	w.signs = newSignGate(0)
	w.health.wake = make(chan struct{}, 1)
	// Redis down or restarting: wait doubling to ten seconds, jittered so
	// every worker does not come back at once; the sweeper keeps finding
	// due rows in PostgreSQL meanwhile and dispatches them when Redis is back.
	w.readBackoff = jobs.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second, Jitter: jobs.DefaultJitter}
}

// entry is one stream entry with its delivery row loaded (d nil when the
// row is gone).
type entry struct {
	lane, streamID string
	id             int64
	d              *federation.Delivery
	sender         *federation.Account
}

// done is a successful attempt waiting to be recorded and acknowledged.
type done struct {
	e      entry
	status int
}

// Run consumes until ctx ends, then waits for deliveries in flight.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		err := w.Queue.Redis.XGroupCreateMkStream(ctx, w.Queue.stream(lane), group, "0").Err()
		if ctx.Err() != nil {
			return nil // stopped before it started: not an error
		}
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create consumer group: %w", err)
		}
	}
	work := make(chan entry)
	w.done = make(chan done, w.Concurrency)
	flushed := make(chan struct{})
	go func() { w.flush(context.WithoutCancel(ctx)); close(flushed) }()
	stopHosts, hostsWritten := make(chan struct{}), make(chan struct{})
	go func() { w.recordHosts(context.WithoutCancel(ctx), stopHosts); close(hostsWritten) }()
	var wg sync.WaitGroup
	for range w.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				w.busy.Add(1)
				w.handle(context.WithoutCancel(ctx), e)
				w.busy.Add(-1)
			}
		}()
	}
	go w.sweep(ctx)
	go w.heartbeat(ctx)
	w.read(ctx, work)
	close(work)
	wg.Wait()
	close(w.done)
	<-flushed
	close(stopHosts) // after the pool: its last news is written too
	<-hostsWritten
	return nil
}

// flush records successes in batches — one UPDATE and one Redis pipeline
// per batch instead of three round trips per delivery — and acknowledges
// stream entries only after PostgreSQL has them.
func (w *Worker) flush(ctx context.Context) {
	var batch []done
	write := func() {
		if len(batch) == 0 {
			return
		}
		ids, statuses := make([]int64, len(batch)), make([]int, len(batch))
		for i, d := range batch {
			ids[i], statuses[i] = d.e.id, d.status
		}
		defer w.end(ids...)
		if err := w.Queue.Store.MarkDeliveredBatch(ctx, ids, statuses); err != nil {
			w.Log.Warn("recording deliveries", "n", len(ids), "err", err)
			batch = batch[:0] // unacknowledged: the sweeper or XAUTOCLAIM retries
			return
		}
		entries := make([]entry, len(batch))
		for i, d := range batch {
			entries[i] = d.e
		}
		w.ackAll(ctx, entries)
		batch = batch[:0]
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case d, ok := <-w.done:
			if !ok {
				write()
				return
			}
			if batch = append(batch, d); len(batch) >= 256 {
				write()
			}
		case <-tick.C:
			write()
		}
	}
}

// read feeds entries to the pool, express first, fresh before retries,
// and takes over entries idle with dead consumers.
func (w *Worker) read(ctx context.Context, work chan<- entry) {
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastClaim) > w.ClaimIdle/2 {
			w.claim(ctx, work)
			lastClaim = time.Now()
		}
		free := w.readCount()
		got := false
		for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
			if w.readLane(ctx, lane, -1, free, work) {
				got = true
				break
			}
		}
		if !got {
			w.readLane(ctx, "", time.Second, free, work)
		}
	}
}

// readCount is how many entries to read and claim: as many as the pool
// has idle workers, plus a small lookahead (an eighth of the pool) that
// waits in hand so no worker idles through the next read. Claiming more
// would hold claimed rows back: a quiet tenant's message arriving behind
// a busy tenant's backlog waits for the lookahead at most, then is
// claimed — fairly — with the next read, not after a batch of the size of
// the pool.
func (w *Worker) readCount() int {
	ahead := max(1, w.Concurrency/8)
	return max(ahead, w.Concurrency+ahead-int(w.busy.Load()))
}

// readLane reads up to count entries from one lane without blocking
// (block<0), or from all lanes blocking up to block (lane "").
func (w *Worker) readLane(ctx context.Context, lane string, block time.Duration, count int, work chan<- entry) bool {
	q := w.Queue
	streams := []string{q.stream(lane), ">"}
	if lane == "" {
		streams = []string{q.stream(laneExpress), q.stream(laneBulk), q.stream(laneRetry), ">", ">", ">"}
	}
	res, err := q.Redis.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: group, Consumer: w.Consumer, Streams: streams, Count: int64(count), Block: block,
	}).Result()
	if err == nil || errors.Is(err, goredis.Nil) {
		w.readBackoff.Reset() // Redis answers
	}
	if err != nil {
		if !errors.Is(err, goredis.Nil) && ctx.Err() == nil {
			wait := w.readBackoff.Next()
			w.Log.Warn("reading delivery stream", "err", err, "retry_in", wait)
			if strings.Contains(err.Error(), "NOGROUP") {
				w.recreateGroups(ctx)
			}
			sleep(ctx, wait)
		}
		return false
	}
	var batch []entry
	for _, s := range res {
		for _, m := range s.Messages {
			batch = append(batch, toEntry(s.Stream, m))
		}
	}
	w.send(ctx, work, batch)
	return len(batch) > 0
}

// recreateGroups restores the streams after Redis lost them (a restart
// without persistence); the sweeper refills them from PostgreSQL.
func (w *Worker) recreateGroups(ctx context.Context) {
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		err := w.Queue.Redis.XGroupCreateMkStream(ctx, w.Queue.stream(lane), group, "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			w.Log.Warn("recreating a delivery stream", "lane", lane, "err", err) // read retries it
		}
	}
}

func toEntry(stream string, m goredis.XMessage) entry {
	id, _ := strconv.ParseInt(fmt.Sprint(m.Values["id"]), 10, 64)
	return entry{lane: stream, streamID: m.ID, id: id}
}

// send claims as many due rows as the batch has entries, fairly across
// tenants (issue 20), and hands them to the pool paired with the entries.
// An entry is a token for one attempt, not its own row: a stream is one
// queue in arrival order, and read as such a tenant's 20,000-inbox
// fan-out would hold every other tenant's work behind it. Each row
// dispatched one token, so tokens keep pace with due rows; a token left
// over (its row already claimed with another's) is acknowledged, and a
// row left without one is found by the sweeper. When the claim fails the
// entries stay unacknowledged and are reclaimed later.
func (w *Worker) send(ctx context.Context, work chan<- entry, batch []entry) {
	if len(batch) == 0 {
		return
	}
	ds, senders, next, err := w.Queue.Store.ClaimDeliveries(ctx, w.cursor, len(batch), w.Now(), w.lease())
	if err != nil {
		w.Log.Warn("claiming deliveries", "n", len(batch), "err", err)
		return
	}
	w.cursor = next
	ds = w.admit(ctx, ds, senders)
	for i, e := range batch {
		e.d, e.sender = nil, nil
		if i < len(ds) {
			e.id, e.d, e.sender = ds[i].ID, ds[i], senders[ds[i].SenderID]
		}
		select {
		case work <- e:
		case <-ctx.Done():
			return
		}
	}
}

// admit keeps the claimed rows each tenant's hourly delivery quota admits,
// in claim order; the others are given back due when the tenant's next
// hour starts (and are found then by the sweeper): delayed, never dropped.
func (w *Worker) admit(ctx context.Context, ds []*federation.Delivery, senders map[int64]*federation.Account) []*federation.Delivery {
	if w.Quota == nil || len(ds) == 0 {
		return ds
	}
	tenantOf := func(d *federation.Delivery) int64 {
		if a := senders[d.SenderID]; a != nil {
			return a.TenantID
		}
		return 0
	}
	want := map[int64]int{}
	for _, d := range ds {
		want[tenantOf(d)]++
	}
	admitted, until := map[int64]int{}, map[int64]time.Time{}
	for t, n := range want {
		admitted[t], until[t] = w.Quota.AdmitDeliveries(ctx, t, n)
	}
	out := make([]*federation.Delivery, 0, len(ds))
	for _, d := range ds {
		t := tenantOf(d)
		if admitted[t] > 0 {
			admitted[t]--
			out = append(out, d)
			continue
		}
		if err := w.Queue.Store.Unlease(ctx, d.ID, until[t]); err != nil {
			// Its lease runs out and it is claimed (and counted) again.
			w.Log.Warn("delaying a delivery over its tenant's quota", "id", d.ID, "err", err)
		}
	}
	return out
}

// claim takes over entries another consumer read but never acknowledged
// (it died mid-batch).
func (w *Worker) claim(ctx context.Context, work chan<- entry) {
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		stream := w.Queue.stream(lane)
		msgs, _, err := w.Queue.Redis.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: w.Consumer, MinIdle: w.ClaimIdle, Start: "0", Count: 256,
		}).Result()
		if err != nil {
			continue
		}
		batch := make([]entry, len(msgs))
		for i, m := range msgs {
			batch[i] = toEntry(stream, m)
		}
		w.send(ctx, work, batch)
	}
}

// sweep re-dispatches pending rows that are due: retries whose time has
// come, and rows whose stream entry was lost.
func (w *Worker) sweep(ctx context.Context) {
	t := time.NewTicker(w.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Rows due for longer than a sweep interval were not picked up from
		// the stream: dispatch them (again) on the retry lane.
		ids, err := w.Queue.Store.DueDeliveries(ctx, w.Now().Add(-w.SweepEvery), 5000)
		if err != nil {
			w.Log.Warn("sweeping deliveries", "err", err)
			continue
		}
		if err := w.Queue.dispatch(ctx, laneRetry, ids); err != nil {
			w.Log.Warn("re-dispatching deliveries", "err", err)
		}
	}
}

func (w *Worker) ack(ctx context.Context, e entry) { w.ackAll(ctx, []entry{e}) }

// ackAll acknowledges and removes entries in one pipelined round trip.
func (w *Worker) ackAll(ctx context.Context, es []entry) {
	pipe := w.Queue.Redis.Pipeline()
	for _, e := range es {
		pipe.XAck(ctx, e.lane, group, e.streamID)
		pipe.XDel(ctx, e.lane, e.streamID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// Harmless but worth seeing: the entries stay pending, are claimed
		// again later, find their rows done and are acknowledged then.
		w.Log.Warn("acknowledging delivery entries", "n", len(es), "err", err)
	}
}

// lease is how long a loaded row is held: a little under ClaimIdle, so a
// dead worker's rows are free again by the time its entries are claimed.
func (w *Worker) lease() time.Duration { return w.ClaimIdle * 9 / 10 }

// handle attempts one delivery and records the outcome in PostgreSQL
// before acknowledging the stream entry (successes through flush).
func (w *Worker) handle(ctx context.Context, e entry) {
	d, sender := e.d, e.sender
	if d == nil {
		w.ack(ctx, e) // the row is gone
		return
	}
	if d.State != "pending" || !d.Leased {
		// Done already, a retry not yet due (the sweeper brings it back),
		// or a row another entry or worker holds: only the lease holder
		// attempts it.
		w.ack(ctx, e)
		return
	}
	if sender != nil && w.suspended(ctx, sender.TenantID, d.Host) {
		if w.fail(ctx, d, 0, "domain suspended: "+d.Host, time.Time{}) {
			w.ack(ctx, e)
		}
		return
	}
	// A lease that ran out during a slow attempt can be taken again while
	// the first attempt is still under way here: one attempt per process.
	if !w.begin(e) {
		w.ack(ctx, e)
		return
	}
	recorded := false
	defer func() {
		if !recorded {
			w.end(e.id)
		}
	}()
	now := w.Now()
	// A host already holding PerHost deliveries (slow, hanging) must not
	// also hold the pool: the row is given back due and the sweeper brings
	// it back.
	release, ok := w.hostSlot(d.Host)
	if !ok {
		// Out of flight before the row is due again, so the entry that
		// brings it back is not mistaken for a duplicate of this one.
		recorded = true
		w.end(e.id)
		if err := w.Queue.Store.Unlease(ctx, d.ID, now); err != nil {
			// Unacknowledged: XAUTOCLAIM brings the entry back after the
			// lease has run out.
			w.Log.Warn("giving back a delivery", "id", d.ID, "err", err)
			return
		}
		w.ack(ctx, e)
		return
	}
	defer release() // after the breaker has seen the outcome
	if until, open := w.breakers.open(d.Host, now); open {
		if w.fail(ctx, d, 0, "circuit open for "+d.Host, until) {
			w.ack(ctx, e)
		}
		return
	}
	ans, err := w.attempt(ctx, d, sender)
	status := ans.Status
	if err == nil && status >= 200 && status < 300 {
		w.breakers.success(d.Host)
		w.observe(d.Host, true, "")
		recorded = true // flush records, acknowledges and ends it
		w.done <- done{e: e, status: status}
		return
	}
	if w.failed(ctx, d, now, ans, err) {
		w.ack(ctx, e)
	}
}

// failed records an attempt that did not succeed: refused for good, or
// retried later. It reports whether PostgreSQL has the outcome; only
// then may the stream entry be acknowledged.
func (w *Worker) failed(ctx context.Context, d *federation.Delivery, now time.Time, ans fetch.Answer, err error) bool {
	status := ans.Status
	switch {
	case err == nil && permanent(status):
		w.breakers.success(d.Host) // the host answered; it is alive
		return w.fail(ctx, d, status, "refused by the receiver", time.Time{})
	case fetch.Permanent(err):
		// The address guard refused the inbox's address (or the URL is
		// unusable): no retry can change that. The reason names no
		// address, since tenants read it on their federation page.
		w.Log.Info("delivery refused before sending", "id", d.ID, "host", d.Host, "err", err)
		w.observe(d.Host, false, fetch.Reason(err))
		return w.fail(ctx, d, 0, fetch.Reason(err), time.Time{})
	default:
		reason := fmt.Sprintf("status %d", status)
		if err != nil {
			reason = fetch.Reason(err)
		}
		busy := err == nil && ans.Busy()
		if againstHost(status, busy, err) {
			w.breakers.failure(d.Host, now)
		} else {
			w.breakers.success(d.Host) // the host answered; it is alive
		}
		w.observe(d.Host, false, reason)
		wait := backoff(d.Attempts)
		if busy {
			wait = max(wait, ans.RetryAfter) // as long as it asked, at least
		}
		return w.fail(ctx, d, status, reason, now.Add(wait))
	}
}

// begin marks e's row in flight in this process; false if it already is
// (a lease that ran out during a slow attempt was taken again here).
// PostgreSQL leases keep other processes off the row.
func (w *Worker) begin(e entry) bool {
	w.flightMu.Lock()
	defer w.flightMu.Unlock()
	if _, ok := w.inFlight[e.id]; ok {
		return false
	}
	w.inFlight[e.id] = struct{}{}
	return true
}

// end marks rows no longer in flight, their outcome in PostgreSQL.
func (w *Worker) end(ids ...int64) {
	w.flightMu.Lock()
	defer w.flightMu.Unlock()
	for _, id := range ids {
		delete(w.inFlight, id)
	}
}

// fail schedules a retry at next (zero: failed for good), or gives up
// past GiveUpAfter. It reports whether the outcome was recorded: when not,
// the caller leaves the stream entry unacknowledged, and XAUTOCLAIM (or
// the sweeper, once the lease has run out) brings the delivery back.
func (w *Worker) fail(ctx context.Context, d *federation.Delivery, status int, reason string, next time.Time) bool {
	if !next.IsZero() && next.Sub(d.CreatedAt) > w.GiveUpAfter {
		next = time.Time{} // retried for long enough: failed for good
	}
	if err := w.Queue.Store.MarkFailed(ctx, d.ID, status, reason, next); err != nil {
		w.Log.Warn("recording failed delivery", "id", d.ID, "err", err)
		return false
	}
	return true
}

// permanent reports statuses that retrying cannot fix. A 401 is retried,
// as Mastodon does: the receiver may have failed to fetch our key (its own
// key-fetch budget, a slow moment) and will verify the next attempt.
// againstHost reports whether a failed attempt says the host is unwell
// (no answer, a 5xx, 408, 429) and so counts towards its breaker. A 401 is
// retried but is the host alive and refusing our signature — most often
// because it could not fetch our key while this instance was overloaded
// — and shutting the host out for minutes for it delayed every Accept and
// Follow to it (soak finding 7, seed 4343739823095494074). A busy answer
// (429 or 503 with Retry-After: a host shedding load, as Roost's nodes
// do) is the host alive too: the delivery waits at least as long as it
// asked, but the breaker stays shut. Counting it opened a remote's
// circuit to an overloaded tenant for cool-downs doubling up to an hour,
// long after the tenant had recovered (soak finding 15).
func againstHost(status int, busy bool, err error) bool {
	return err != nil || status != http.StatusUnauthorized && !busy
}

func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout &&
		status != http.StatusUnauthorized
}

// attempt signs the request afresh (new Date) and POSTs it, in RFC 9421
// or draft-cavage as the host accepts; the caller holds one of the host's
// slots.
func (w *Worker) attempt(ctx context.Context, d *federation.Delivery, sender *federation.Account) (fetch.Answer, error) {
	if d.ActingHost != "" {
		// A forwarded report: never signed as the sender (the reporter).
		if w.InstanceSign == nil {
			return fetch.Answer{}, errors.New("no instance actor signer for a delivery signed by a site")
		}
		return w.Fetch.PostAnswer(federation.WithActingHost(ctx, d.ActingHost), d.Inbox, d.Body, w.InstanceSign)
	}
	keyID, err := w.KeyID(ctx, sender)
	if err != nil {
		return fetch.Answer{}, err
	}
	key, err := w.privateKey(sender.PrivateKeyPEM)
	if err != nil {
		return fetch.Answer{}, err
	}
	digest := w.digests.of(d.ActivityID, d.Body)
	// Double-knocking (fetch.Knocking): the inbox's host gets the scheme
	// it last accepted, cavage when unknown, and a 401/403 is retried
	// once in the other scheme before the answer counts.
	return w.Fetch.PostAnswer(ctx, d.Inbox, d.Body, fetch.Knocking(func(s signature.Scheme, r *http.Request, _ []byte) error {
		defer w.signs.acquire(sender.TenantID, d.Express)() // the cores, most urgent first (signgate.go)
		return signature.SignDigest(s, r, digest, keyID, key, w.Now())
	}))
}

// maxCachedKeys bounds the parsed-key cache (one key per local sender).
const maxCachedKeys = 10000

// privateKey parses a sender's key once.
func (w *Worker) privateKey(pem string) (crypto.PrivateKey, error) {
	if k, ok := w.keys.Load(pem); ok {
		return k.(crypto.PrivateKey), nil
	}
	k, err := signature.ParsePrivateKeyPEM(pem)
	if err != nil {
		return nil, err
	}
	if w.nkeys.Add(1) <= maxCachedKeys {
		w.keys.Store(pem, k)
	}
	return k, nil
}

// hostSlot takes one of host's PerHost slots without waiting, returning
// its release; false when all are taken.
func (w *Worker) hostSlot(host string) (func(), bool) { return w.hosts.take(host, w.PerHost) }

// backoff grows exponentially from 30 s to a 6 h ceiling.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second << min(attempts, 10)
	return min(d, 6*time.Hour)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// suspended reports whether host is suspended for the sender's tenant.
// Failing a row is final, and this node's policy may lag a block lifted
// on another node by a refresh interval (the row itself was queued by
// someone who saw the lift), so a suspended verdict is confirmed against
// a fresh policy when the blocks can refresh: one version read, on a path
// only rows to suspended domains take.
func (w *Worker) suspended(ctx context.Context, tenantID int64, host string) bool {
	if w.Blocks == nil || !w.Blocks.Suspended(tenantID, host) {
		return false
	}
	r, ok := w.Blocks.(interface{ Refresh(context.Context) error })
	if !ok {
		return true
	}
	if err := r.Refresh(ctx); err != nil && w.Log != nil {
		w.Log.WarnContext(ctx, "refreshing domain blocks before failing a delivery; the cached policy stands", "host", host, "err", err)
	}
	return w.Blocks.Suspended(tenantID, host)
}
