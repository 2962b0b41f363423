package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// listenTLS serves app over HTTPS on ROOST_HTTPS_ADDR with certificates
// obtained on demand (ROOST_TLS=acme or self-signed), and ACME HTTP-01
// answers plus a redirect to HTTPS on ROOST_HTTP_REDIRECT_ADDR. Listener
// failures go to errc; the returned function stops the redirect listener
// and certificate maintenance (the renewal sweep ends with ctx).
func listenTLS(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, cache *tenant.HostCache, app listenerServer, reg prometheus.Registerer, errc chan<- error) (func(), error) {
	m, err := newCertManager(cfg, log, svc, cache)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPSAddr)
	if err != nil {
		m.Stop()
		return nil, fmt.Errorf("listen on %s (ROOST_HTTPS_ADDR): %w", cfg.HTTPSAddr, err)
	}
	rln, err := net.Listen("tcp", cfg.HTTPRedirectAddr)
	if err != nil {
		ln.Close()
		m.Stop()
		return nil, fmt.Errorf("listen on %s (ROOST_HTTP_REDIRECT_ADDR): %w", cfg.HTTPRedirectAddr, err)
	}
	reg.MustRegister(tlsCollector{m})
	redirect := &http.Server{
		Handler:           withHeaderPolicy(m.HTTPHandler()), // redirects and ACME answers, on every tenant domain
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := redirect.Serve(rln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve %s (ROOST_HTTP_REDIRECT_ADDR): %w", cfg.HTTPRedirectAddr, err)
		}
	}()
	go func() {
		if err := app.Listener(tls.NewListener(ln, m.TLSConfig())); err != nil {
			errc <- fmt.Errorf("serve %s (ROOST_HTTPS_ADDR): %w", cfg.HTTPSAddr, err)
		}
	}()
	go m.Run(ctx) // background renewal of due certificates, one node at a time
	if cfg.URLScheme != "https" {
		log.Warn("ROOST_TLS is on but ROOST_URL_SCHEME is not https: issued URLs will not match how the site is served")
	}
	log.Info("web node listening", "https", cfg.HTTPSAddr, "http_redirect", cfg.HTTPRedirectAddr, "tls", cfg.TLS, "acme_ca", cfg.ACMECA)
	return func() {
		redirect.Close()
		m.Stop()
	}, nil
}

// listenerServer serves on a listener it is given (the web app).
type listenerServer interface{ Listener(net.Listener) error }

// newCertManager builds the certificate manager: decisions on the node's
// host cache, storage in PostgreSQL shared by every node.
func newCertManager(cfg *config.Config, log *slog.Logger, svc *services, cache *tenant.HostCache) (*certs.Manager, error) {
	mode := certs.ACME
	if cfg.TLS == "self-signed" {
		mode = certs.SelfSigned
	}
	var roots *x509.CertPool
	if cfg.ACMECARoot != "" {
		pemBytes, err := os.ReadFile(cfg.ACMECARoot)
		if err != nil {
			return nil, fmt.Errorf("ROOST_ACME_CA_ROOT: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("ROOST_ACME_CA_ROOT: no PEM certificate in %s", cfg.ACMECARoot)
		}
	}
	host, httpsPort, err := splitPort(cfg.HTTPSAddr)
	if err != nil {
		return nil, fmt.Errorf("ROOST_HTTPS_ADDR: %w", err)
	}
	_, httpPort, err := splitPort(cfg.HTTPRedirectAddr)
	if err != nil {
		return nil, fmt.Errorf("ROOST_HTTP_REDIRECT_ADDR: %w", err)
	}
	wildcard, err := dns01Wildcard(cfg)
	if err != nil {
		return nil, err
	}
	decider := certs.NewDecider(cache)
	if cfg.PortalHost != "" {
		decider.Own = map[string]bool{cfg.PortalHost: true}
	}
	m, err := certs.New(certs.Options{
		Mode:            mode,
		CA:              cfg.ACMECA,
		Email:           cfg.ACMEEmail,
		CARoots:         roots,
		HTTP01:          slices.Contains(cfg.ACMEChallenges, "http-01"),
		TLSALPN01:       slices.Contains(cfg.ACMEChallenges, "tls-alpn-01"),
		ListenHost:      host,
		HTTPPort:        httpPort,
		HTTPSPort:       httpsPort,
		PublicHTTPSPort: cfg.PublicPort,
		Storage:         certs.NewStorage(tenantpg.NewCertStore(svc.db)),
		Decider:         decider,
		Log:             log.With("component", "tls"),
		Wildcard:        wildcard,
		OrderLimit:      cfg.ACMEOrderLimit,
		CacheCapacity:   certs.CacheCapacityFor(cfg.TLSCacheMiB),
	})
	if err != nil {
		return nil, fmt.Errorf("ROOST_TLS=%s: %w", cfg.TLS, err)
	}
	return m, nil
}

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q is not a number", p)
	}
	return host, port, nil
}

// tlsCollector exports the certificate manager's counters: decisions and
// the database lookups they cost, and orders.
type tlsCollector struct{ m *certs.Manager }

var (
	tlsDecisions      = prometheus.NewDesc("roost_tls_decisions_total", "On-demand TLS decisions, by result.", []string{"result"}, nil)
	tlsCacheHits      = prometheus.NewDesc("roost_tls_decision_cache_hits_total", "Decisions answered from the host cache.", nil, nil)
	tlsLookups        = prometheus.NewDesc("roost_tls_decision_lookups_total", "Decisions that queried the database (cache misses).", nil, nil)
	tlsLookupErrors   = prometheus.NewDesc("roost_tls_decision_lookup_errors_total", "Decision lookups that failed (database down): refused.", nil, nil)
	tlsLookupLimited  = prometheus.NewDesc("roost_tls_decision_rate_limited_total", "Cache misses refused without a query: a client address spent its allowance for unknown names, or the node's lookup gate was full.", nil, nil)
	tlsOrders         = prometheus.NewDesc("roost_tls_orders_total", "Certificate orders (new and renewals), by result.", []string{"result"}, nil)
	tlsCollectorDescs = []*prometheus.Desc{tlsDecisions, tlsCacheHits, tlsLookups, tlsLookupErrors, tlsLookupLimited, tlsOrders}
)

var _ prometheus.Collector = tlsCollector{}

func (c tlsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range tlsCollectorDescs {
		ch <- d
	}
}

func (c tlsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(tlsDecisions, s.Allowed, "allowed")
	counter(tlsDecisions, s.Denied, "denied")
	counter(tlsCacheHits, s.CacheHits)
	counter(tlsLookups, s.Lookups)
	counter(tlsLookupErrors, s.LookupErrors)
	counter(tlsLookupLimited, s.RateLimited)
	counter(tlsOrders, s.Obtaining, "started")
	counter(tlsOrders, s.IssueRateLimited, "rate_limited")
	counter(tlsOrders, s.BudgetLimited, "budget_limited")
	counter(tlsOrders, s.Obtained, "obtained")
	counter(tlsOrders, s.Failed, "failed")
}

// withHeaderPolicy gives the plain-HTTP listener's answers (redirects to
// HTTPS, ACME challenges, 404s) the app's policy for what is not a page
// (api/httpx SecureHeaders): they are served on tenant domains too.
func withHeaderPolicy(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", httpx.DefaultResourceCSP)
		h.ServeHTTP(w, r)
	})
}
