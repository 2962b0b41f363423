package certs

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"golang.org/x/time/rate"
)

// Mode is how certificates are obtained.
type Mode string

// Modes (ROOST_TLS, less "off").
const (
	ACME       Mode = "acme"
	SelfSigned Mode = "self-signed"
)

// Issuance limits per node: every new certificate or renewal is an order
// at the CA, whose own limits are per account (Let's Encrypt: 300 new
// orders per 3 hours).
const (
	DefaultIssueEvery = 10 * time.Second
	DefaultIssueBurst = 20
)

// A node keeps certificates in memory up to a memory budget, not a
// count: at 100,000 tenant domains holding every certificate would cost
// hundreds of MiB per node (a Let's Encrypt leaf and its intermediate,
// DER and parsed, and certmagic's index: about CertMemoryKiB each), while
// an evicted certificate costs one gated load from storage (three indexed
// reads) on its next handshake. certmagic evicts a random certificate when
// full, which keeps the names that are asked often (they come back at
// once) and costs a scan of part of its map per eviction; the budget
// keeps that map small.
const (
	// DefaultCacheMiB is a node's certificate memory budget.
	DefaultCacheMiB = 128
	// CertMemoryKiB is the heap one cached certificate is reckoned at.
	CertMemoryKiB = 4
	// DefaultCacheCapacity is the capacity DefaultCacheMiB gives.
	DefaultCacheCapacity = DefaultCacheMiB * 1024 / CertMemoryKiB
)

// CacheCapacityFor is the certificate cache capacity of a memory budget
// in MiB (at least 1,000 certificates).
func CacheCapacityFor(mib int) int {
	if mib <= 0 {
		return DefaultCacheCapacity
	}
	return max(mib*1024/CertMemoryKiB, 1000)
}

// acmeTLS1 is the TLS-ALPN-01 protocol name (RFC 8737).
const acmeTLS1 = "acme-tls/1"

// Options configures a Manager. Storage and Decider are required.
type Options struct {
	Mode Mode
	// CA is "production" (Let's Encrypt, the default), "staging" (Let's
	// Encrypt's staging), or an ACME directory URL.
	CA    string
	Email string
	// CARoots, when set, are the roots trusted for the CA's API (a test CA).
	CARoots *x509.CertPool
	// HTTP01 and TLSALPN01 say which challenges this node may choose when
	// it obtains a certificate; it answers both kinds regardless, for
	// orders any node started. At least one must be set.
	HTTP01, TLSALPN01 bool
	// ListenHost, HTTPPort and HTTPSPort are where this node's listeners
	// are (the CA validates on 80 and 443; a test CA may use others).
	ListenHost          string
	HTTPPort, HTTPSPort int
	// PublicHTTPSPort goes into redirects (0: the default 443).
	PublicHTTPSPort int

	Storage *Storage
	Decider *Decider

	// RenewalWindowRatio is the part of a certificate's lifetime, at its
	// end, in which it is renewed (0: certmagic's default, a third).
	RenewalWindowRatio float64
	// IssueEvery and IssueBurst limit new orders per node (defaults above).
	IssueEvery    time.Duration
	IssueBurst    int
	CacheCapacity int
	// ColdConcurrent and ColdQueue bound the handshakes for names not in
	// memory (a decision and a load from storage) running and waiting at
	// once on this node (defaults DefaultColdConcurrent, DefaultColdQueue).
	ColdConcurrent, ColdQueue int
	Log                       *slog.Logger

	// OrderLimit is the instance-wide budget of new ACME orders per
	// OrderWindow (0: DefaultOrderLimit); see OrderBudget.
	OrderLimit int
	// Now is the clock of the renewal schedule and the order budget
	// (nil: time.Now); tests drive it explicitly.
	Now func() time.Time

	// Wildcard, when set (ACME mode only), serves the base domain and its
	// subdomains with DNS-01 certificates instead of on-demand ones.
	Wildcard *Wildcard
}

// Manager serves certificates on demand for an instance's tenants.
type Manager struct {
	cfg     *certmagic.Config
	cache   *certmagic.Cache
	answer  *certmagic.ACMEIssuer // answers HTTP-01 challenges of every node's orders
	decider *Decider
	storage *Storage
	issue   *rate.Limiter
	budget  *OrderBudget // nil for the local CA
	now     func() time.Time
	log     *slog.Logger
	port    string // ":8443" in redirects, or ""
	ratio   float64

	// cold gates handshakes for names not in memory; holding maps a
	// handshake's ClientHelloInfo to its slot, given back early when the
	// handshake turns into an order (bounded by the order limits).
	cold    *gate
	holding sync.Map

	// The base domain's wildcard configuration (nil without one).
	wcfg     *certmagic.Config
	wcache   *certmagic.Cache
	wildcard *Wildcard
	base     string

	obtaining, issueLimited, budgetLimited, obtained, failed atomic.Uint64
	ariFetched, ariFailed                                    atomic.Uint64
}

// DirectoryURL turns ROOST_ACME_CA's value into a directory URL.
func DirectoryURL(ca string) (string, error) {
	switch ca {
	case "", "production":
		return certmagic.LetsEncryptProductionCA, nil
	case "staging":
		return certmagic.LetsEncryptStagingCA, nil
	}
	u, err := url.Parse(ca)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("ACME CA must be production, staging or an https:// directory URL")
	}
	return ca, nil
}

// New builds a Manager. It refuses to run on-demand TLS without a
// Decider: certmagic with no DecisionFunc would obtain a certificate for
// any name a client sends.
func New(o Options) (*Manager, error) {
	if o.Decider == nil {
		return nil, errors.New("on-demand TLS needs a DecisionFunc (certs.Decider); refusing to start without one")
	}
	if o.Storage == nil {
		return nil, errors.New("on-demand TLS needs shared certificate storage")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.IssueEvery <= 0 {
		o.IssueEvery = DefaultIssueEvery
	}
	if o.IssueBurst <= 0 {
		o.IssueBurst = DefaultIssueBurst
	}
	if o.CacheCapacity == 0 {
		o.CacheCapacity = DefaultCacheCapacity
	}
	m := &Manager{decider: o.Decider, storage: o.Storage, log: o.Log, issue: rate.NewLimiter(rate.Every(o.IssueEvery), o.IssueBurst), now: o.Now,
		cold: newGate(o.ColdConcurrent, cmp.Or(o.ColdQueue, DefaultColdQueue), DefaultColdWait)}
	if m.now == nil {
		m.now = time.Now
	}
	if o.PublicHTTPSPort != 0 && o.PublicHTTPSPort != 443 {
		m.port = ":" + strconv.Itoa(o.PublicHTTPSPort)
	}
	logger := newZapLogger(o.Log.Handler())
	var cfg *certmagic.Config
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Capacity:         o.CacheCapacity,
		Logger:           logger,
	})
	m.ratio = o.RenewalWindowRatio
	if m.ratio <= 0 || m.ratio >= 1 {
		m.ratio = certmagic.DefaultRenewalWindowRatio
	}
	cfg = certmagic.New(m.cache, certmagic.Config{
		RenewalWindowRatio: m.ratio,
		Storage:            o.Storage,
		OnDemand:           &certmagic.OnDemandConfig{DecisionFunc: m.decide},
		OnEvent:            m.onEvent,
		ShouldEmitFunc: func(event string) bool {
			return event == "cert_obtaining" || event == "cert_obtained" || event == "cert_failed"
		},
		Logger: logger,
	})
	switch o.Mode {
	case ACME:
		dir, err := DirectoryURL(o.CA)
		if err != nil {
			m.cache.Stop()
			return nil, err
		}
		if !o.HTTP01 && !o.TLSALPN01 {
			m.cache.Stop()
			return nil, errors.New("enable at least one ACME challenge (http-01, tls-alpn-01)")
		}
		tmpl := certmagic.ACMEIssuer{
			CA:                      dir,
			Email:                   o.Email,
			Agreed:                  true,
			TrustedRoots:            o.CARoots,
			DisableHTTPChallenge:    !o.HTTP01,
			DisableTLSALPNChallenge: !o.TLSALPN01,
			ListenHost:              o.ListenHost,
			AltHTTPPort:             o.HTTPPort,
			AltTLSALPNPort:          o.HTTPSPort,
			Logger:                  logger,
		}
		cfg.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(cfg, tmpl)}
		m.budget = NewOrderBudget(o.Storage, o.OrderLimit)
		m.budget.Now = m.now
		// The answering issuer has every challenge enabled: this node
		// answers HTTP-01 for orders of nodes that chose it.
		tmpl.DisableHTTPChallenge, tmpl.DisableTLSALPNChallenge = false, false
		m.answer = certmagic.NewACMEIssuer(cfg, tmpl)
		if o.Wildcard != nil {
			if err := m.newWildcardConfig(o.Wildcard, tmpl, o.Storage); err != nil {
				m.cache.Stop()
				return nil, err
			}
		}
	case SelfSigned:
		if o.Wildcard != nil {
			m.cache.Stop()
			return nil, errors.New("a DNS-01 wildcard certificate needs ROOST_TLS=acme")
		}
		cfg.Issuers = []certmagic.Issuer{&localIssuer{storage: o.Storage, log: o.Log, validity: 30 * 24 * time.Hour}}
	default:
		m.cache.Stop()
		return nil, fmt.Errorf("unknown TLS mode %q", o.Mode)
	}
	if cfg.OnDemand == nil || cfg.OnDemand.DecisionFunc == nil {
		m.cache.Stop()
		return nil, errors.New("on-demand TLS without a DecisionFunc; refusing to start")
	}
	m.cfg = cfg
	return m, nil
}

// TLSConfig is the HTTPS listener's configuration: certificates on
// demand, and TLS-ALPN-01 challenge answers. HTTP/2 is not offered (the
// web node speaks HTTP/1.1).
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: m.getCertificate,
		NextProtos:     []string{"http/1.1", acmeTLS1},
		MinVersion:     tls.VersionTLS12,
	}
}

func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
		// A TLS-ALPN-01 validation: looked up in storage only for names we
		// would issue for, so random names cost no storage reads.
		var client netip.Addr
		if hello.Conn != nil {
			client = addrOf(hello.Conn.RemoteAddr())
		}
		if err := m.decider.DecideFor(hello.Context(), strings.ToLower(hello.ServerName), client); err != nil {
			return nil, err
		}
	} else if m.covers(strings.ToLower(hello.ServerName)) {
		// The base domain's certificates, from their own cache: never an
		// on-demand order or a lookup.
		return m.wcfg.GetCertificate(hello)
	}
	if hello.ServerName != "" && len(m.cache.AllMatchingCertificates(strings.ToLower(hello.ServerName))) == 0 {
		release, err := m.cold.enter(hello.Context())
		if err != nil {
			return nil, err
		}
		m.holding.Store(hello, release)
		defer func() {
			m.holding.Delete(hello)
			release()
		}()
	}
	return m.cfg.GetCertificate(hello)
}

// leaveColdGate gives back the slot of the handshake in ctx, if it holds
// one: it is about to wait for an order, which the order limits bound,
// and must not keep cold loads of other names waiting meanwhile.
func (m *Manager) leaveColdGate(ctx context.Context) {
	hello, _ := ctx.Value(certmagic.ClientHelloInfoCtxKey).(*tls.ClientHelloInfo)
	if hello == nil {
		return
	}
	if release, ok := m.holding.LoadAndDelete(hello); ok {
		release.(func())()
	}
}

// decide is the on-demand DecisionFunc: the Decider's answer, except that
// names the wildcard covers are never obtained one by one.
func (m *Manager) decide(ctx context.Context, name string) error {
	if m.covers(name) {
		return errCoveredByWildcard
	}
	return m.decider.Decide(ctx, name)
}

// HTTPHandler serves the plain-HTTP port: ACME HTTP-01 challenge answers
// (for orders started by any node: the tokens are in shared storage) and
// a permanent redirect to HTTPS for everything else.
func (m *Manager) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, err := tenant.NormalizeHost(r.Host)
		if err != nil {
			http.Error(w, "unknown host", http.StatusNotFound)
			return
		}
		if certmagic.LooksLikeHTTPChallenge(r) {
			if m.answer != nil && m.decider.DecideFor(r.Context(), host, remoteAddr(r)) == nil && m.answer.HandleHTTPChallenge(w, r) {
				return
			}
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		http.Redirect(w, r, "https://"+host+m.port+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

var errIssueLimited = errs.E(errs.Unavailable, "certificate issuance rate limit reached on this node; will retry")

// onEvent rate-limits orders and records each name's status.
func (m *Manager) onEvent(ctx context.Context, event string, data map[string]any) error {
	name, _ := data["identifier"].(string)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch event {
	case "cert_obtaining":
		m.leaveColdGate(ctx)
		if !m.issue.Allow() {
			m.issueLimited.Add(1)
			if err := m.storage.recordFailure(ctx, name, errIssueLimited); err != nil {
				m.log.Warn("recording certificate failure failed", "name", name, "err", err)
			}
			return errIssueLimited
		}
		if m.budget != nil {
			if ok, err := m.budget.Take(ctx); err != nil || !ok {
				m.budgetLimited.Add(1)
				cause := errOrderBudget
				if err != nil {
					cause = errs.E(errs.Unavailable, "cannot check the instance's ACME order budget, refusing the order: %v", err)
				}
				if err := m.storage.recordFailure(ctx, name, cause); err != nil {
					m.log.Warn("recording certificate failure failed", "name", name, "err", err)
				}
				return cause
			}
		}
		m.obtaining.Add(1)
	case "cert_obtained":
		m.obtained.Add(1)
		issuer, _ := data["issuer"].(string)
		certPath, _ := data["certificate_path"].(string)
		if err := m.storage.recordObtained(ctx, name, issuer, certPath); err != nil {
			m.log.Warn("recording certificate status failed", "name", name, "err", err)
		}
	case "cert_failed":
		m.failed.Add(1)
		cause, _ := data["error"].(error)
		if cause == nil {
			cause = errors.New("unknown error")
		}
		if err := m.storage.recordFailure(ctx, name, cause); err != nil {
			m.log.Warn("recording certificate failure failed", "name", name, "err", err)
		}
	}
	return nil
}

// Stats counts decisions and issuance since start.
type Stats struct {
	DecisionStats
	// Orders started, refused by the node's issuance limit, refused by
	// the instance's order budget, obtained, failed.
	Obtaining, IssueRateLimited, BudgetLimited, Obtained, Failed uint64
	// ARIFetched counts renewal windows fetched from the CA (RFC 9773),
	// ARIFailed the fetches that failed (the fallback schedule applies).
	ARIFetched, ARIFailed uint64
	// ColdQueued handshakes for names not in memory waited for the
	// node's gate, ColdRefused found it full; ColdWaiting wait now.
	ColdQueued, ColdRefused uint64
	ColdWaiting             int
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	return Stats{DecisionStats: m.decider.Stats(),
		Obtaining: m.obtaining.Load(), IssueRateLimited: m.issueLimited.Load(), BudgetLimited: m.budgetLimited.Load(),
		Obtained: m.obtained.Load(), Failed: m.failed.Load(), ARIFetched: m.ariFetched.Load(), ARIFailed: m.ariFailed.Load(),
		ColdQueued: m.cold.queued.Load(), ColdRefused: m.cold.refused.Load(), ColdWaiting: m.cold.Waiting()}
}

// Statuses lists every domain's certificate expiry and last error.
func (m *Manager) Statuses(ctx context.Context) ([]Status, error) { return m.storage.Statuses(ctx) }

// Stop ends background maintenance and releases this process's locks.
func (m *Manager) Stop() {
	m.cache.Stop()
	if m.wcache != nil {
		m.wcache.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	certmagic.CleanUpOwnLocks(ctx, m.cfg.Logger)
}
