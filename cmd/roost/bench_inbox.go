package main

import (
	"bytes"
	"context"
	"crypto"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/web"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// benchInbox measures verified inbox POSTs accepted per second: distinct
// activities pre-signed by a remote actor whose key is cached, sent over
// keep-alive connections to a shared inbox; each is signature-checked,
// Digest-checked and durably queued before its 202.
func benchInbox(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench inbox", flag.ContinueOnError)
	n := fs.Int("requests", 5000, "number of inbox POSTs")
	conc := fs.Int("concurrency", 32, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, stop, err := benchServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := svc.tenantSv.CreateTenant(ctx, "Bench", "bench.test", ""); err != nil {
		return err
	}
	key, err := benchSender(ctx, svc)
	if err != nil {
		return err
	}
	cache := tenant.NewHostCache(svc.tenants, time.Minute, 1000)
	fd, err := newFed(cfg, log, svc, cache)
	if err != nil {
		return err
	}
	batcher := svc.accounts.NewInboxBatcher()
	defer batcher.Close()
	fd.inbox.Store = batcher
	app := api.New(api.Options{Sites: cache, Accounts: svc.accounts, Inbox: fd.inbox, Log: log,
		URL: web.URLConfig{Scheme: "http"}, Metrics: prometheus.NewRegistry()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go app.Listener(ln)
	defer app.Shutdown()

	reqs, err := presign(*n, key, "http://"+ln.Addr().String())
	if err != nil {
		return err
	}
	lat, errors, wall := fire(reqs, *conc)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var queued int
	svc.db.QueryRow(ctx, `select count(*) from inbox_items`).Scan(&queued)
	return printResult(map[string]any{
		"bench": "inbox", "requests": *n, "per_second": round3(float64(*n-errors) / wall.Seconds()),
		"p99_ms": round3(float64(lat[len(lat)*99/100].Microseconds()) / 1000), "errors": errors, "queued": queued,
	})
}

const benchActor = "http://s.test/users/sender"

// benchSender caches a remote actor with a fresh key, as after its first
// delivery, and returns the private key.
func benchSender(ctx context.Context, svc *services) (crypto.PrivateKey, error) {
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	_, err = svc.accounts.UpsertRemoteActor(ctx, &federation.Account{Domain: "s.test", Username: "sender", PublicKeyPEM: kp.PublicPEM,
		Remote: &federation.RemoteInfo{URI: benchActor, KeyID: benchActor + "#main-key", Inbox: benchActor + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		return nil, err
	}
	return signature.ParsePrivateKeyPEM(kp.PrivatePEM)
}

// presign signs n distinct Create activities on every core (RSA signing is
// the sender's cost, not ours: it stays outside the timed window).
func presign(n int, key crypto.PrivateKey, base string) ([]*http.Request, error) {
	out := make([]*http.Request, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for part := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += 2 {
				id := fmt.Sprintf("%s/statuses/%d", benchActor, i)
				body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/activity","type":"Create","actor":"%s","to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":"%s","type":"Note","attributedTo":"%s","content":"<p>post %d</p>","published":"2026-11-27T10:00:00Z","to":["https://www.w3.org/ns/activitystreams#Public"]}}`, id, benchActor, id, benchActor, i))
				r, _ := http.NewRequest("POST", base+"/inbox", bytes.NewReader(body))
				r.Host = "bench.test"
				r.Header.Set("Content-Type", "application/activity+json")
				if err := signature.Sign(r, body, benchActor+"#main-key", key, time.Now()); err != nil {
					firstErr.Store(err)
					return
				}
				r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
				out[i] = r
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	return out, nil
}

// fire sends every request with conc workers over keep-alive connections
// and returns each latency, the number of non-202 answers and the wall time.
func fire(reqs []*http.Request, conc int) ([]time.Duration, int, time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	lat := make([]time.Duration, len(reqs))
	var next, errors atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				t := time.Now()
				resp, err := client.Do(reqs[i])
				lat[i] = time.Since(t)
				if err != nil {
					errors.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errors.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return lat, int(errors.Load()), time.Since(start)
}
