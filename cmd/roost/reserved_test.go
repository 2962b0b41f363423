package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/api/portal"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

// Issue 14 finding 9, generated over every path that claims a domain
// (the portal's subdomain, own and split choices, `roost tenant create`
// and `roost tenant add-domain`, each for the handle and the service
// domain) × every host the instance serves or calls itself and a name
// under each: all refused with a clear error, nothing stored. A free name
// goes through every path, so the paths are really exercised.
func TestIssue14Finding9NoPathClaimsTheInstancesOwnHosts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := map[string]string{
		"ROOST_DATABASE_URL": testenv.DatabaseURL(t), "ROOST_BASE_DOMAIN": "roost.test", "ROOST_SIGNUPS": "open",
		"ROOST_PORTAL_HOST": "portal.roost.test", "ROOST_OPERATOR_HOST": "ops.operator.test",
		"ROOST_PUBLIC_HOSTNAME": "edge.roost.test", "ROOST_METRICS_ADDR": "metrics.internal.test:9090",
		"ROOST_MEDIA_S3_ENDPOINT": "https://s3.storage.test", "ROOST_MEDIA_S3_BUCKET": "media",
		"ROOST_STRIPE_API_URL": "https://api.stripe.test", "ROOST_ACME_CA": "https://acme.ca.test/directory",
		"ROOST_REDIS_URL": testenv.RedisURL(), "ROOST_REDIS_PREFIX": "reserved-test:",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	signups := newPortal(cfg, log, svc, nil).(*portal.Handler).Signups
	sg, err := signups.Start(ctx, verify.StartForm{Name: "N", Email: "n@mail.test", Password: "a long password", AcceptRules: true})
	if err != nil {
		t.Fatal(err)
	}
	base := createTenant(t, ctx, cfg, "free-base.test")

	paths := map[string]func(name string) error{
		"portal own":           func(n string) error { _, err := signups.ChooseOwn(ctx, sg, n); return err },
		"portal split handle":  func(n string) error { _, err := signups.ChooseSplit(ctx, sg, n, "social.free.test"); return err },
		"portal split service": func(n string) error { _, err := signups.ChooseSplit(ctx, sg, "free.test", n); return err },
		"portal subdomain": func(n string) error {
			label, ok := strings.CutSuffix(n, ".roost.test")
			if !ok || strings.Contains(label, ".") {
				return errSkip // not offered as a subdomain: nothing to try
			}
			_, err := signups.ChooseSubdomain(ctx, sg, label)
			return err
		},
		"tenant create": func(n string) error {
			return runTenant(ctx, cfg, log, []string{"create", "--name", "X", "--domain", n})
		},
		"tenant create service": func(n string) error {
			return runTenant(ctx, cfg, log, []string{"create", "--name", "X", "--domain", "free2.test", "--service-domain", n})
		},
		"tenant add-domain": func(n string) error {
			return runTenantAddDomain(ctx, cfg, log, []string{"--tenant", base, "--domain", n})
		},
		"tenant add-domain service": func(n string) error {
			return runTenantAddDomain(ctx, cfg, log, []string{"--tenant", base, "--domain", "free3.test", "--service-domain", n})
		},
	}
	hosts := reservedHosts(cfg).Hosts()
	if len(hosts) != 7 {
		t.Fatalf("reserved %v, want the seven configured hosts", hosts)
	}
	domains := countRows(t, ctx, svc, "domains")
	for _, h := range hosts {
		for _, name := range []string{h, "sub." + h, strings.ToUpper(h) + "."} {
			for path, claim := range paths {
				err := claim(name)
				var fe verify.FieldErrors
				switch {
				case errors.Is(err, errSkip):
				case strings.HasPrefix(path, "portal") && (!errors.As(err, &fe) || !strings.Contains(fe.Error(), "this server") && !strings.Contains(fe.Error(), "reserved")):
					t.Errorf("%s via %s: %v, want a field error saying it is the server's", name, path, err)
				case !strings.HasPrefix(path, "portal") && !reservedErr(err):
					t.Errorf("%s via %s: %v, want refused as the server's", name, path, err)
				}
			}
		}
	}
	if n := countRows(t, ctx, svc, "domains"); n != domains {
		t.Fatalf("%d domains stored by refused claims", n-domains)
	}
	// A name a tenant held before it was reserved: moving accounts onto
	// it (the dashboard's and the CLI's domain move, an account move) is
	// refused too.
	leave := tenantpg.NewLeaveStore(svc.db)
	for i, h := range hosts {
		from := "legacy" + strconv.Itoa(i) + ".test"
		id, err := strconv.ParseInt(createTenant(t, ctx, cfg, from), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leave.AddDomain(ctx, id, tenant.NewDomain{Domain: h, Verified: true}, tenant.Actor{Email: "test"}); err != nil {
			t.Fatal(err)
		}
		if err := runTenantMoveDomain(ctx, cfg, log, []string{"--tenant", from, "--to", h}); !reservedErr(err) {
			t.Errorf("move-domain to %s: %v", h, err)
		}
		if err := runAccountMove(ctx, cfg, log, []string{"--from", "x@" + from, "--to", "x@" + h}); !reservedErr(err) {
			t.Errorf("account move to %s: %v", h, err)
		}
	}
	for i, path := range []string{"tenant create", "tenant create service", "tenant add-domain", "tenant add-domain service", "portal subdomain"} {
		if err := paths[path]("ok" + strconv.Itoa(i) + ".roost.test"); err != nil {
			t.Errorf("a free name via %s: %v", path, err)
		}
	}
}

var errSkip = errors.New("skip")

func reservedErr(err error) bool {
	return errs.Is(err, errs.Invalid) && strings.Contains(errs.MessageOf(err), "of this server itself")
}

func createTenant(t *testing.T, ctx context.Context, cfg *config.Config, domain string) string {
	t.Helper()
	svc, err := connect(ctx, cfg, slog.New(slog.DiscardHandler), false)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	tn, err := svc.tenantSv.CreateTenant(ctx, "Base", domain, "")
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(tn.ID, 10)
}

func countRows(t *testing.T, ctx context.Context, svc *services, table string) int {
	t.Helper()
	var n int
	if err := svc.db.QueryRow(ctx, "select count(*) from "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
