package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/errs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

const (
	demoTenant   = "Demo"
	demoUsername = "demo"
)

// runDev is the newcomer's node: private PostgreSQL and Redis (unless the
// URLs are given), migrations, a demo tenant and account, and the web node
// and workers in one process. Ctrl-C stops everything it started.
func runDev(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	devDefaults(cfg)
	if cfg.DatabaseURL == "" || cfg.RedisURL == "" {
		env, err := devenv.Start(ctx, devenv.Options{
			Dir: cfg.DevDir, Durable: true, Install: true,
			SkipPostgres: cfg.DatabaseURL != "", SkipRedis: cfg.RedisURL != "",
			Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) },
		})
		if err != nil {
			return err
		}
		defer func() {
			log.Info("stopping private PostgreSQL and Redis")
			if err := env.Stop(); err != nil {
				log.Error("stopping services", "err", err)
			}
		}()
		if cfg.DatabaseURL == "" {
			cfg.DatabaseURL = env.DatabaseURL
		}
		if cfg.RedisURL == "" {
			cfg.RedisURL = env.RedisURL
		}
	}
	if err := migrate(ctx, cfg.DatabaseURL, log); err != nil {
		return err
	}
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	password, err := ensureDemo(ctx, cfg, svc)
	if err != nil {
		return err
	}
	if cfg.OperatorHost != "" { // the demo login runs the dev node's operator dashboard too
		if _, err := tenantpg.NewAdminStore(svc.db).GrantOperator(ctx, demoUsername+"@"+cfg.DevDomain, true); err != nil {
			return fmt.Errorf("grant the demo login the operator dashboard: %w", err)
		}
	}
	// One registry for the web node and the workers: /metrics on the
	// dev port carries the queue gauges and job metrics too.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		queueCollector{stats: svc.social.QueueStats, log: log})
	svc.metrics = reg

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	settings := devSettingsPath(cfg.DevDir)
	wrote := false
	defer func() {
		if wrote { // never another dev's file: a dev that could not bind writes none
			os.Remove(settings)
		}
	}()
	listening := func() {
		wrote = true
		// Announced only once the port is bound; the settings file lets
		// CLI commands in this checkout reach this node (devsettings.go).
		if err := writeDevSettings(settings, cfg); err != nil {
			log.Warn("CLI commands will not find this node's settings", "file", settings, "err", err)
		}
		if err := seedDemo(ctx, cfg, svc); err != nil { // a first start's demo profile and posts (devseed.go)
			log.Warn("the demo account's first posts were not made", "err", err)
		}
		printBanner(cfg, password)
	}
	for _, run := range []func() error{
		func() error { return serve(ctx, cfg, log, svc, listening) },
		func() error { return work(ctx, cfg, log, svc, reg) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(); err != nil {
				errc <- err
			}
			cancel()
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// devDefaults makes issued URLs match what a browser on this machine uses:
// http and the listen port, unless set explicitly.
func devDefaults(cfg *config.Config) {
	if os.Getenv("ROOST_URL_SCHEME") == "" {
		cfg.URLScheme = "http"
	}
	if os.Getenv("ROOST_PUBLIC_PORT") == "" {
		if _, p, err := net.SplitHostPort(cfg.HTTPAddr); err == nil {
			cfg.PublicPort, _ = strconv.Atoi(p)
		}
	}
	// The portal and dashboards on names every browser and curl resolve
	// to loopback (RFC 6761 §6.3), so a newcomer can try them at once.
	for _, d := range []struct {
		name string
		dst  *string
		host string
	}{
		{"ROOST_PORTAL_HOST", &cfg.PortalHost, "portal.localhost"},
		{"ROOST_OPERATOR_HOST", &cfg.OperatorHost, "ops.localhost"},
		{"ROOST_BASE_DOMAIN", &cfg.BaseDomain, "roost.localhost"},
		{"ROOST_SIGNUPS", &cfg.Signups, "open"}, // no operator to approve a newcomer's trial site
	} {
		if os.Getenv(d.name) == "" {
			*d.dst = d.host
		}
	}
}

// ensureDemo creates the demo tenant and account when missing and returns
// the demo password (kept in ROOST_DEV_DIR so every start can print it).
func ensureDemo(ctx context.Context, cfg *config.Config, svc *services) (string, error) {
	pwFile := filepath.Join(cfg.DevDir, "demo-password")
	site, err := svc.tenants.SiteByHost(ctx, cfg.DevDomain)
	if errs.Is(err, errs.NotFound) {
		if _, err = svc.tenantSv.CreateTenant(ctx, demoTenant, cfg.DevDomain, ""); err != nil {
			return "", err
		}
		site, err = svc.tenants.SiteByHost(ctx, cfg.DevDomain)
	}
	if err != nil {
		return "", err
	}
	_, err = svc.social.AccountByUsername(ctx, site.TenantID, site.Domain, demoUsername)
	if err == nil {
		b, rerr := os.ReadFile(pwFile)
		if rerr != nil {
			return "(set when the demo account was created; not recorded here)", nil
		}
		return strings.TrimSpace(string(b)), nil
	}
	if !errs.Is(err, errs.NotFound) {
		return "", err
	}
	pw := newPassword()
	if _, err := createAccount(ctx, svc, site.Domain, demoUsername, demoUsername+"@"+site.Domain, pw, "Roost Demo"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(cfg.DevDir, 0o755); err != nil {
		return "", err
	}
	return pw, os.WriteFile(pwFile, []byte(pw+"\n"), 0o600)
}

func newPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func printBanner(cfg *config.Config, password string) {
	links := federation.NewLinks(cfg.URLScheme, cfg.DevDomain, cfg.PublicPort)
	fmt.Printf(`
  Roost is running.

  Profile:    %s
  Actor:      curl -H 'Accept: application/activity+json' %s
  WebFinger:  curl '%s/.well-known/webfinger?resource=acct:%s@%s'
  Health:     %s/readyz   Metrics: %s/metrics

  Demo login: %s@%s / %s
  Apps:       point any Mastodon app or library at %s and sign in as above
%s
  Database:   %s
  Redis:      %s
  Press Ctrl-C to stop.

`, links.Profile(demoUsername), links.Actor(demoUsername), links.Base, demoUsername, cfg.DevDomain,
		links.Base, links.Base, demoUsername, cfg.DevDomain, password, links.Base, devHosts(cfg), cfg.DatabaseURL, cfg.RedisURL)
}

// devHosts are the banner's lines for the portal and the operator
// dashboard, when dev serves them.
func devHosts(cfg *config.Config) string {
	var b strings.Builder
	if cfg.PortalHost != "" {
		fmt.Fprintf(&b, "  Portal:     %s (new sites: %s)\n", federation.NewLinks(cfg.URLScheme, cfg.PortalHost, cfg.PublicPort).Base,
			federation.NewLinks(cfg.URLScheme, "NAME."+cfg.BaseDomain, cfg.PublicPort).Base)
	}
	if cfg.OperatorHost != "" {
		fmt.Fprintf(&b, "  Operator:   %s (sign in with the demo login)\n", federation.NewLinks(cfg.URLScheme, cfg.OperatorHost, cfg.PublicPort).Base)
	}
	return b.String()
}
