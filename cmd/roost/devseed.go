package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// seedDemo gives the demo account of `roost dev` something to show on its
// first start (devenv.SeedDemo: an avatar, a header, a bio with a field
// and four posts, made through the node's own client API). An account
// that has posted already is left alone: restarts, and a newcomer's own
// posts, are never added to.
func seedDemo(ctx context.Context, cfg *config.Config, svc *services) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	site, err := svc.tenants.SiteByHost(ctx, cfg.DevDomain)
	if err != nil {
		return err
	}
	demo, err := svc.social.AccountByUsername(ctx, site.TenantID, site.Domain, demoUsername)
	if err != nil {
		return err
	}
	addr := loopback(cfg.HTTPAddr)
	posts, err := devenv.DemoPosts(ctx, addr, cfg.DevDomain, demoUsername)
	if err != nil {
		return fmt.Errorf("look up the demo account: %w", err)
	}
	if posts > 0 {
		return nil
	}
	o := &oauth.Service{Store: tenantpg.NewOAuthStore(svc.db)}
	const oob, scopes = "urn:ietf:wg:oauth:2.0:oob", "read write"
	app, secret, err := o.RegisterApp(ctx, site.TenantID, "roost dev demo", "", oob, scopes)
	if err != nil {
		return err
	}
	code, err := o.Authorize(ctx, app, demo.ID, oob, scopes, "", "")
	if err != nil {
		return err
	}
	g, err := o.Exchange(ctx, site.TenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oob})
	if err != nil {
		return err
	}
	return devenv.SeedDemo(ctx, addr, cfg.DevDomain, g.AccessToken)
}

// loopback is the address to reach the node's own listener at.
func loopback(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
