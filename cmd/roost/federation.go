package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// fed is the federation machinery every node and worker shares.
type fed struct {
	fetch   *fetch.Client
	keys    *actors.Keys
	locals  *inbox.SiteLocals
	queue   *delivery.Queue
	inbox   *inbox.Service
	outbox  *outbox.Service
	process *inbox.Processor
	// quotes are the quote-post rules, for the inbox and the client API.
	quotes *quote.Service
	// blocks are the domain blocks in force, in memory (domainblock.Cache);
	// serve and work refresh blocks as a job (Interval) to follow changes.
	blocks *domainblock.Cache
	// hosts records remote hosts' delivery health (federation/postgres).
	hosts delivery.HostRecorder
	// claimIdle and sweepEvery tune delivery workers (ROOST_DELIVERY_*).
	claimIdle, sweepEvery time.Duration
	// instancePub is the instance actor's public key, served at /actor.
	instancePub string
}

// newFed wires federation on top of the services; sites resolves hosts
// (the node's HostCache, or the store directly in one-shot commands).
func newFed(cfg *config.Config, log *slog.Logger, svc *services, sites tenant.Resolver) (*fed, error) {
	resolve, err := fetch.ParseResolve(cfg.FederationResolve)
	if err != nil {
		return nil, fmt.Errorf("invalid ROOST_FEDERATION_RESOLVE: %w", err)
	}
	if len(resolve) > 0 {
		log.Warn("ROOST_FEDERATION_RESOLVE is set: federation traffic for these hosts goes to these addresses (over the scheme each entry names; a bare ip:port is plain HTTP); never use this in production", "resolve", resolve)
	}
	f := &fed{fetch: fetch.New(fetch.Config{Resolve: resolve}), claimIdle: cfg.DeliveryClaimIdle, sweepEvery: cfg.DeliverySweepEvery}
	sign, pub, err := instanceSigner(context.Background(), cfg, svc)
	if err != nil {
		return nil, err
	}
	f.instancePub = pub
	ours := func(ctx context.Context, host string) bool {
		name, err := tenant.NormalizeHost(host)
		if err != nil {
			return false
		}
		_, err = sites.Resolve(ctx, name)
		return err == nil
	}
	f.blocks = &domainblock.Cache{Source: svc.social, Log: log}
	f.hosts = svc.social
	if err := f.blocks.Load(context.Background()); err != nil {
		return nil, err
	}
	f.keys = &actors.Keys{Store: svc.social, Fetch: f.fetch, Sign: sign, Ours: ours}
	f.locals = &inbox.SiteLocals{Sites: sites, Accounts: svc.social, Scheme: cfg.URLScheme, Port: cfg.PublicPort}
	f.queue = &delivery.Queue{Store: svc.social, Redis: svc.redis, Prefix: cfg.RedisPrefix, Log: log}
	f.inbox = &inbox.Service{Keys: f.keys, Store: svc.social, Ours: ours, Blocks: f.blocks, Scheme: cfg.URLScheme}
	f.outbox = &outbox.Service{Keys: f.keys, Fetch: f.fetch, Follows: svc.social, Locals: f.locals, Send: f.queue,
		Publisher: svc.social, Dispatch: f.queue, Mover: svc.social, Store: svc.social, Scheme: cfg.URLScheme}
	f.process = &inbox.Processor{Items: svc.social, Follows: svc.social, Actors: svc.social, Statuses: svc.social,
		Social: svc.social, Movers: svc.social, Keys: f.keys, Locals: f.locals, Send: f.queue, Log: log,
		Blocks: f.blocks, ActingHost: (&actors.ActingHosts{Domains: svc.social, Sites: sites, Scheme: cfg.URLScheme, Port: cfg.PublicPort}).Host}
	f.quotes = &quote.Service{Views: svc.social, Quotes: svc.social, Locals: f.locals, Sender: f.outbox}
	f.process.Quotes = inbox.QuotePorts{Store: svc.social, Rules: f.quotes, Send: f.outbox} // quote posts (FEP-044f)
	f.process.Tombstones = svc.social                                                       // Deletes that arrive before their post (soak finding 3)
	return f, nil
}

// deliveryWorker builds a worker with a consumer name unique to this process.
func (f *fed) deliveryWorker(log *slog.Logger) *delivery.Worker {
	host, _ := os.Hostname()
	return &delivery.Worker{
		Queue: f.queue, Fetch: f.fetch, Log: log,
		Consumer:  fmt.Sprintf("%s-%d", host, os.Getpid()),
		ClaimIdle: f.claimIdle, SweepEvery: f.sweepEvery,
		Blocks: f.blocks, Hosts: f.hosts,
		InstanceSign: f.keys.Sign, // forwarded reports (deliveries with an acting host)
		KeyID: func(ctx context.Context, a *federation.Account) (string, error) {
			links, err := f.locals.Links(ctx, a)
			if err != nil {
				return "", err
			}
			return links.Key(a.Username), nil
		},
	}
}

// storeResolver resolves hosts straight from the store, for commands that
// run once and need no cache.
type storeResolver struct{ store tenant.Store }

func (r storeResolver) Resolve(ctx context.Context, host string) (*tenant.Site, error) {
	return r.store.SiteByHost(ctx, host)
}

// instanceSigner signs fetches as the instance actor of the site named by
// the request context's acting host (federation.WithActingHost); without
// one, fetches go unsigned rather than as some default site.
func instanceSigner(ctx context.Context, cfg *config.Config, svc *services) (fetch.Signer, string, error) {
	kp, err := svc.social.InstanceKeys(ctx, federation.GenerateKeyPair)
	if err != nil {
		return nil, "", fmt.Errorf("instance actor keys: %w", err)
	}
	key, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	if err != nil {
		return nil, "", err
	}
	// Signed in the scheme each host accepts (fetch.Knocking: cavage
	// first, RFC 9421 after a refusal, remembered per host).
	knock := fetch.Knocking(func(s signature.Scheme, r *http.Request, body []byte) error {
		keyID := federation.NewLinks(cfg.URLScheme, federation.ActingHost(r.Context()), 0).InstanceActor() + "#main-key"
		return signature.SignWith(s, r, body, keyID, key, time.Now())
	})
	return func(r *http.Request, body []byte) error {
		if federation.ActingHost(r.Context()) == "" {
			return nil
		}
		return knock(r, body)
	}, kp.PublicPEM, nil
}
