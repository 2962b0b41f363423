package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/admin"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func runMigrate(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if err := flag.NewFlagSet("migrate", flag.ContinueOnError).Parse(args); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("ROOST_DATABASE_URL is not set")
	}
	return migrate(ctx, cfg.DatabaseURL, log)
}

func runTenant(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "usage: roost tenant create|list|approve|invite|role|authorized-fetch")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("tenant create", flag.ContinueOnError)
		name := fs.String("name", "", "tenant name (required)")
		domain := fs.String("domain", "", "handle domain (required)")
		serviceDomain := fs.String("service-domain", "", "optional service domain where actors live")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *name == "" || *domain == "" {
			return errs.E(errs.Invalid, "--name and --domain are required")
		}
		if err := checkNotReserved(cfg, *domain, *serviceDomain); err != nil {
			return err
		}
		svc, err := connect(ctx, cfg, log, cfg.RedisURL != "")
		if err != nil {
			return err
		}
		defer svc.close()
		t, err := svc.tenantSv.CreateTenant(ctx, *name, *domain, *serviceDomain)
		if err != nil {
			return err
		}
		fmt.Println(t.ID)
		return nil
	case "list":
		svc, err := connect(ctx, cfg, log, false)
		if err != nil {
			return err
		}
		defer svc.close()
		ts, err := svc.tenants.Tenants(ctx)
		if err != nil {
			return err
		}
		printTenants(os.Stdout, ts)
		return printFlagged(ctx, os.Stdout, svc) // portal.go
	case "approve":
		return runTenantApprove(ctx, cfg, log, args[1:])
	case "invite":
		return runTenantInvite(ctx, cfg, log, args[1:])
	case "role":
		return runTenantRole(ctx, cfg, log, args[1:])
	case "authorized-fetch":
		return runTenantAuthorizedFetch(ctx, cfg, log, args[1:]) // authfetch.go
	}
	return errs.E(errs.Invalid, "unknown tenant command %q; use create, list, approve, invite, role or authorized-fetch", args[0])
}

func printTenants(w io.Writer, ts []tenant.Tenant) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tDOMAINS")
	for _, t := range ts {
		var ds []string
		for _, d := range t.Domains {
			s := d.Domain
			if d.ServiceDomain != "" {
				s += " (service " + d.ServiceDomain + ")"
			}
			if d.VerifiedAt == nil {
				s += " [unverified]"
			}
			ds = append(ds, s)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.Name, t.Status, strings.Join(ds, ", "))
	}
	tw.Flush()
}

func runAccount(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errs.E(errs.Invalid, "usage: roost account create --domain D --username U --email E --password P")
	}
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	domain := fs.String("domain", "", "the account's handle domain (required)")
	username := fs.String("username", "", "username (required)")
	email := fs.String("email", "", "email of the owning login (required)")
	password := fs.String("password", "", "password of the owning login; - reads a line from stdin (required)")
	display := fs.String("display-name", "", "display name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *password == "-" {
		line, err := readLine(os.Stdin)
		if err != nil {
			return err
		}
		*password = line
	}
	if *domain == "" || *username == "" || *email == "" || *password == "" {
		return errs.E(errs.Invalid, "--domain, --username, --email and --password are required")
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	a, err := newAccounts(svc).Create(ctx, account.New{Domain: *domain, Username: *username, DisplayName: *display,
		Email: *email, Password: *password})
	if err != nil {
		return err
	}
	fmt.Printf("%d @%s@%s\n", a.ID, a.Username, a.Domain)
	return nil
}

// newAccounts is the account-creation use case on svc's stores.
func newAccounts(svc *services) *account.Service {
	return &account.Service{Sites: svc.tenants, Store: svc.social}
}

// createAccount creates an account through the use case (the dev seed
// and the benchmarks call it).
func createAccount(ctx context.Context, svc *services, domain, username, email, password, display string) (*federation.Account, error) {
	return newAccounts(svc).Create(ctx, account.New{Domain: domain, Username: username, DisplayName: display, Email: email, Password: password})
}

func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// runTenantRole is `roost tenant role grant|revoke --tenant DOMAIN
// --email E --role admin|moderator`: the terminal is the operator, so any
// tenant role may be granted; recorded in the audit log.
func runTenantRole(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	const usage = "usage: roost tenant role grant|revoke --tenant DOMAIN --email EMAIL [--role admin|moderator]"
	if len(args) == 0 || (args[0] != "grant" && args[0] != "revoke") {
		return errs.E(errs.Invalid, usage)
	}
	fs := flag.NewFlagSet("tenant role", flag.ContinueOnError)
	domain := fs.String("tenant", "", "a domain of the tenant (required)")
	email := fs.String("email", "", "email of an existing login (required)")
	roleName := fs.String("role", "", "admin or moderator (grant)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	role, ok := admin.TenantRoles[*roleName]
	if *domain == "" || *email == "" || (args[0] == "grant" && !ok) {
		return errs.E(errs.Invalid, usage)
	}
	host, err := tenant.NormalizeHost(*domain)
	if err != nil {
		return errs.E(errs.Invalid, "tenant %q: %s", *domain, errs.MessageOf(err))
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return errs.E(errs.NotFound, "no tenant domain %s", host)
	}
	st := tenantpg.NewAdminStore(svc.db)
	cli := tenant.CommandLine // the audit log shows "command line"
	if args[0] == "grant" {
		if _, err := st.GrantRole(ctx, cli, strings.TrimSpace(*email), site.TenantID, role.Name, uint32(role.Perms)); err != nil {
			return err
		}
		fmt.Printf("%s is %s of %s\n", *email, role.Name, site.Domain)
		return nil
	}
	u, _, err := st.UserByEmail(ctx, strings.TrimSpace(*email), site.TenantID)
	if err != nil {
		return err
	}
	if err := st.RevokeRole(ctx, cli, u.ID, site.TenantID); err != nil {
		return err
	}
	fmt.Printf("%s no longer has a role on %s\n", u.Email, site.Domain)
	return nil
}

// runOperator is `roost operator grant --email E [--revoke]`.
func runOperator(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "grant" {
		return errs.E(errs.Invalid, "usage: roost operator grant --email EMAIL [--revoke]")
	}
	fs := flag.NewFlagSet("operator grant", flag.ContinueOnError)
	email := fs.String("email", "", "email of an existing login (required)")
	revoke := fs.Bool("revoke", false, "take the operator role away instead")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return errs.E(errs.Invalid, "--email is required")
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	u, err := tenantpg.NewAdminStore(svc.db).GrantOperator(ctx, strings.TrimSpace(*email), !*revoke)
	if err != nil {
		return err
	}
	if u.IsOperator {
		fmt.Printf("%s is an operator\n", u.Email)
	} else {
		fmt.Printf("%s is no longer an operator\n", u.Email)
	}
	return nil
}

// adminHandler is the dashboard, one handler for the operator host and
// every tenant's /admin.
func adminHandler(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) *admin.Handler {
	h := &admin.Handler{Store: tenantpg.NewAdminStore(svc.db), Tenants: svc.tenantSv, Host: cfg.OperatorHost,
		URL: httpx.URLConfig{Scheme: cfg.URLScheme, Port: cfg.PublicPort}, Log: log}
	h.Billing = newBillingPages(cfg, svc)   // billing, plans and open-books pages (billing.go)
	h.Leave = newLeaving(cfg, log, svc, fd) // leaving and changing domain (move.go)
	h.SignIn = svc.signin                   // throttled sign-in (signin.go)
	h.Quotas = svc.adminQuotas()            // per-tenant quotas on the tenant page (quotas.go)
	h.Announcements = newAnnouncements(svc) // the instance's and tenants' news (schedule.go)
	// Server rules, about, terms (api/admin/about.go).
	h.About = &about.Service{Store: svc.social}
	if fd != nil {
		h.Forward = fd.outbox // reports forwarded as Flags (federation/outbox ForwardReport)
		h.Posts = localPosts{accounts: svc.social, outbox: fd.outbox}
		h.Federation = newFedAdmin(svc, fd) // federation and queue pages (fedadmin.go)
	}
	return h
}

// localPosts deletes a reported local post as its author would: removed
// here and a Delete sent to the servers it reached.
type localPosts struct {
	accounts interface {
		AccountByID(ctx context.Context, id int64) (*federation.Account, error)
	}
	outbox interface {
		Delete(ctx context.Context, local *federation.Account, statusURI string) error
	}
}

func (p localPosts) DeleteLocalPost(ctx context.Context, accountID int64, statusURI string) error {
	a, err := p.accounts.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	return p.outbox.Delete(ctx, a, statusURI)
}

// newOperator builds the operator dashboard, or returns nil when
// ROOST_OPERATOR_HOST is unset.
func newOperator(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) api.Router {
	if cfg.OperatorHost == "" {
		return nil
	}
	log.Info("operator dashboard enabled", "host", cfg.OperatorHost)
	return adminHandler(cfg, log, svc, fd)
}

// newTenantAdmin builds the dashboard every tenant domain serves under
// /admin for its admins and moderators.
func newTenantAdmin(cfg *config.Config, log *slog.Logger, svc *services, fd *fed) api.Router {
	return admin.TenantRoutes{Handler: adminHandler(cfg, log, svc, fd)}
}
