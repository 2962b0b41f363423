// Package api is Roost's HTTP surface: one fiber app per process, with host
// routing in front of every tenant route. fiber stays inside api.
package api

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api/activitypub"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/public"
	"github.com/roost-social/roost/api/streaming"
	"github.com/roost-social/roost/api/webapp"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/tenant"
)

// Options wires the app to its services.
type Options struct {
	Sites    tenant.Resolver
	Accounts federation.AccountStore
	// Inbox receives ActivityPub deliveries; nil leaves inboxes unrouted.
	Inbox federation.Inbox
	// Statuses serves local posts as Notes; nil leaves them unrouted.
	Statuses federation.StatusStore
	// Collections serves outbox, followers and following; nil leaves them
	// unrouted.
	Collections federation.CollectionStore
	// Stamps serves the quote stamps local accounts issue; nil: none.
	Stamps federation.QuoteStore
	// DeletedAccounts finds names of deleted accounts, whose actors answer
	// 410 Gone with a Tombstone; nil: 404.
	DeletedAccounts activitypub.DeletedAccounts
	// Mastodon is the client API and OAuth its sign-in; nil leaves them
	// unrouted.
	Mastodon *mastodon.Handler
	OAuth    Router
	// Streaming is the streaming API (/api/v1/streaming); nil leaves it
	// unrouted. Unless it has a Gate, it is given one kept by Streams.
	Streaming *streaming.Handler
	// Streams bounds streaming connections per node, client address and
	// token (streams.go).
	Streams StreamLimits
	// Portal answers every request for the signup portal's host, ahead
	// of host routing; nil means no portal.
	Portal Router
	// Billing answers the payment providers' webhooks on the portal host
	// (api/billing), ahead of the portal; nil leaves them unrouted.
	Billing Router
	// Public are the pages of every tenant domain anyone may open (posts,
	// profiles, hashtags, the front page, RSS, oEmbed: api/public); nil
	// leaves them out, and browsers at an actor get its plain profile.
	Public *public.Handler
	// Web is the signed-in web app of every tenant domain (api/webapp),
	// mounted ahead of the public pages; nil leaves it out.
	Web *webapp.Handler
	// Operator answers every request for the operator dashboard's host
	// (api/admin), ahead of host routing; nil means no dashboard.
	Operator Router
	// TenantAdmin is the same dashboard under /admin on every tenant
	// domain (api/admin TenantRoutes), right behind host routing; it
	// takes /admin and below only.
	TenantAdmin Router
	// WebFingers keeps rendered WebFinger answers (activitypub.NewWebFingers);
	// nil: rendered on every request.
	WebFingers *hotcache.Cache[activitypub.WebFingerKey, []byte]
	// InstanceKey is the instance actor's public key PEM, served at /actor.
	InstanceKey string
	URL         httpx.URLConfig

	// AuthorizedFetch requires signed GETs for ActivityPub actors, posts
	// and collections (ROOST_AUTHORIZED_FETCH; a tenant may override it),
	// checked by Fetches (inbox.Service).
	AuthorizedFetch bool
	Fetches         activitypub.FetchVerifier

	// TrustedProxies are addresses or CIDRs whose X-Forwarded-* headers are
	// believed; empty means none.
	TrustedProxies []string
	Log            *slog.Logger
	// Ready are the dependencies /readyz checks.
	Ready []Check
	// Metrics registers request metrics; nil disables them.
	Metrics prometheus.Registerer
	// ServeMetrics exposes /metrics (from Gatherer) on this app.
	ServeMetrics bool
	Gatherer     prometheus.Gatherer
	// RequestTimeout bounds each request's context (database calls).
	RequestTimeout time.Duration
	// MaxInflight bounds the requests worked on at once; past it requests
	// are answered 503 with Retry-After at once (shed.go). 0: no bound.
	MaxInflight int
	// Quotas refuses client API requests over their tenant's quota of
	// requests per second (quota.go); nil: none.
	Quotas RequestQuota
}

// Router is a set of routes mounted behind host routing.
type Router interface{ Register(r fiber.Router) }

// Check is one readiness probe.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
	// Optional: the node serves without it (degraded), so its failure is
	// reported as "degraded" and the node stays ready (Redis: posting and
	// reading go on while it is down; docs/operating.md).
	Optional bool
}

// MaxBody is the largest request body accepted anywhere but media uploads
// (413 past it); ActivityPub inboxes, the largest legitimate senders of
// JSON, are capped at 1 MB.
const MaxBody = 1 << 20

// MaxUpload is the largest body of a media upload: the media limit (16 MB)
// plus room for the multipart envelope.
const MaxUpload = 17 << 20

// New builds the app: operations routes on any Host, then host routing,
// then the tenant routes.
func New(o Options) *fiber.App {
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 30 * time.Second
	}
	app := fiber.New(fiber.Config{
		AppName: "roost",
		// Every value read from a request (params, query, headers, host,
		// body) is the handler's own copy. Fiber's default hands out
		// strings over buffers the connection's next request reuses, and
		// a value kept past its request (a cache key, a stream's name)
		// silently became another request's: soak finding 9.
		Immutable:               true,
		BodyLimit:               MaxUpload, // bodyLimit below holds the rest to MaxBody
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             90 * time.Second,
		EnableTrustedProxyCheck: true,
		TrustedProxies:          o.TrustedProxies,
		ProxyHeader:             fiber.HeaderXForwardedFor,
		DisableStartupMessage:   true,
		ErrorHandler:            httpx.ErrorHandler,
	})
	app.Use(observe(o))
	if o.MaxInflight > 0 {
		app.Use(newShedder(o.MaxInflight, o.Metrics).handle) // load shedding (shed.go)
	}
	app.Use(bodyLimit)
	registerOps(app, o)
	if o.Billing != nil {
		o.Billing.Register(app) // POST /billing/webhooks/stripe on the portal host
	}
	if o.Portal != nil {
		o.Portal.Register(app) // the portal host only; every other host goes on to host routing
	}
	if o.Operator != nil {
		o.Operator.Register(app) // the operator host only
	}
	app.Use(hostRouting(o.Sites))
	if o.TenantAdmin != nil {
		o.TenantAdmin.Register(app)
	}
	if o.Web != nil {
		o.Web.Register(app) // before the public pages: /tags/:tag is the app's for a signed-in viewer
	}
	var pages activitypub.Pages
	if o.Public != nil {
		if o.Public.Deleted == nil {
			o.Public.Deleted = o.DeletedAccounts // deleted accounts' pages answer 410 as their actors do
		}
		o.Public.Register(app) // before activitypub's /@:username, which would take /@name.rss
		pages = o.Public
	}
	(&activitypub.Handler{Pages: pages, Accounts: o.Accounts, Inbox: o.Inbox, Statuses: o.Statuses,
		Collections: o.Collections, Sites: o.Sites, InstanceKey: o.InstanceKey, URL: o.URL,
		AuthorizedFetch: o.AuthorizedFetch, Fetches: o.Fetches, Stamps: o.Stamps, WebFingers: o.WebFingers, Deleted: o.DeletedAccounts,
		Boosts: boostFinder(o.Statuses)}).Register(app)
	if o.Mastodon != nil || o.OAuth != nil {
		// Browser apps (Elk, Phanpy) call the API and the token endpoint
		// from other origins; tokens travel in headers, never cookies.
		c := cors.New(cors.Config{
			AllowOrigins:  "*",
			AllowMethods:  "GET,POST,PUT,PATCH,DELETE,OPTIONS",
			AllowHeaders:  "Authorization,Content-Type,Idempotency-Key,Accept",
			ExposeHeaders: "Link,X-RateLimit-Remaining,X-Request-Id",
			MaxAge:        86400,
		})
		app.Use("/api", c) // api/oauth sets its own for /oauth/*
		if o.Quotas != nil {
			app.Use("/api", quotaGuard(o.Quotas)) // after CORS: a preflight costs no quota
		}
		httpx.RegisterDefaultImages(app)
	}
	if o.OAuth != nil {
		o.OAuth.Register(app)
	}
	if o.Streaming != nil {
		sh := *o.Streaming
		if sh.Gate == nil {
			sh.Gate = newStreamGate(o.Streams, o.Metrics) // streams.go
		}
		sh.Register(app) // before the REST API's /api middleware
	}
	if o.Mastodon != nil {
		o.Mastodon.Register(app)
	}
	return app
}

// bodyLimit holds every request but a media or archive upload to MaxBody, by its
// length as received (before any decoding or parsing).
//
// Compressed request bodies are refused everywhere (415): handlers read
// bodies through fiber, which would inflate them without a bound, so a
// 1 MB gzip bomb could cost gigabytes (SECURITY 29).
func bodyLimit(c *fiber.Ctx) error {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") &&
		len(c.Request().Body()) > 0 {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "compressed request bodies are not accepted")
	}
	if len(c.Request().Body()) <= MaxBody {
		return c.Next()
	}
	if c.Method() == fiber.MethodPost && (c.Path() == "/api/v1/media" || c.Path() == "/api/v2/media" ||
		c.Path() == "/api/v1/roost/imports" || // larger archives: roost account import
		webapp.Upload(c.Path())) { // the web app's compose and edit forms, with their media
		return c.Next()
	}
	return fiber.ErrRequestEntityTooLarge
}

// boostFinder is the status store's boost lookup when it has one (the
// PostgreSQL store does): a boost's Announce id is served beside posts.
func boostFinder(s federation.StatusStore) federation.BoostFinder {
	b, _ := s.(federation.BoostFinder)
	return b
}
