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

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/errs"
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
	printBanner(cfg, password)

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, run := range []func() error{
		func() error { return serve(ctx, cfg, log, svc) },
		func() error { return work(ctx, cfg, log, svc, nil) },
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

  Database:   %s
  Redis:      %s
  Press Ctrl-C to stop.

`, links.Profile(demoUsername), links.Actor(demoUsername), links.Base, demoUsername, cfg.DevDomain,
		links.Base, links.Base, demoUsername, cfg.DevDomain, password, links.Base, cfg.DatabaseURL, cfg.RedisURL)
}
