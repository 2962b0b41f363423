// Command roost is the one Roost binary: web node, workers, migrations,
// administration and an all-in-one development node.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
)

const usage = `usage: roost <command> [flags]

commands:
  dev                 all-in-one node: provisions PostgreSQL and Redis when
                      ROOST_DATABASE_URL / ROOST_REDIS_URL are unset, migrates,
                      creates a demo tenant, runs web node and workers
  serve               run a web node
  work                run background workers
  migrate             apply database migrations (safe to run concurrently)
  tenant create       --name NAME --domain DOMAIN [--service-domain HOST]
  tenant list         list tenants and their domains
  tenant approve      --id N: approve a tenant that signed up on the portal
  tenant invite       [--count N] [--expires D]: print portal invite codes
  tenant add-domain   --tenant ID|DOMAIN --domain D [--service-domain S]: a
                      further domain, verified on the operator's word
  tenant move-domain  --tenant OLD-DOMAIN --to NEW-DOMAIN: move every account
                      to the tenant's new domain (Move sent to followers)
  tenant delete       --tenant ID|DOMAIN [--grace 720h] [--cancel]: leaving;
                      Delete(Person) to every server, then the data removed
  account create      --domain DOMAIN --username USER --email EMAIL --password PASS|-
  tenant role         grant|revoke --tenant DOMAIN --email EMAIL --role admin|moderator:
                      a login's role on that tenant's /admin dashboard
  tenant authorized-fetch --tenant DOMAIN on|off|default: the tenant's own
                      ROOST_AUTHORIZED_FETCH (signed GETs required)
  operator grant      --email EMAIL [--revoke]: let a login use the operator
                      dashboard (ROOST_OPERATOR_HOST)
  billing mark-paid   --tenant ID --until YYYY-MM-DD: paid by bank transfer,
                      OpenCollective...; past due (grace period) after that day
  billing comp        --tenant ID: host the tenant for free
  billing show        --tenant ID: the tenant's billing state
  billing enforce     one pass of the grace-period job of roost work
  billing sync        --tenant ID: fetch the tenant's state from its provider
                      (mark-paid --amount 8.00 [--currency usd] records income)
  billing plan        add --name N --kind paid|free|donation [--price 8.00]
                      [--interval month|year] [--domains any|subdomain|own]
                      [--max-accounts N] [--storage-gb N] [--stripe-price ID]
                      | list [--all] | archive --id ID: the plans on offer
  billing meter       [--day YYYY-MM-DD]: meter every tenant's usage for a day
  billing cost        add --month YYYY-MM --category C --amount 40.00 [--note T]
                      | list | delete --id ID: the open books' monthly costs
  billing reserve     --amount 500.00: the open books' opening balance
  billing books       the open books as the public /books page shows them
  account export      --account USER@DOMAIN --out FILE.zip: the account's archive
  account import      --account USER@DOMAIN --file FILE.zip [--publish]: posts,
                      follows, blocks, mutes, lists and bookmarks of an archive
  account move        --from USER@DOMAIN --to USER@DOMAIN: move an account to
                      another tenant or domain of this instance
  test [GOTEST ARGS]  run the whole test suite with private PostgreSQL and
                      Redis (installing them when missing)
  follow              --account USER@DOMAIN --target USER@HOST|ACTOR-URL
  post                --account USER@DOMAIN --text TEXT [--cw CW] [--visibility V]
  do VERB             --account USER@DOMAIN --target T [--text T]: like, unlike,
                      boost, unboost, edit, delete, block, unblock, unfollow
  alias               --account USER@DOMAIN --add USER@HOST|ACTOR-URL
  move                --account USER@DOMAIN --to USER@HOST|ACTOR-URL
  emoji add           --domain DOMAIN --shortcode NAME --file IMAGE: a custom
                      emoji for the domain's tenant (PNG, GIF or WebP)
  bench delivery      [--inboxes N] fan-out benchmark (private PostgreSQL/Redis)
  bench inbox         [--requests N] verified inbox POSTs per second
  bench timeline      home timeline reads over 1,000,000 statuses (JSON per pattern)
  bench post          statuses posted per second with 1,000 local followers
  bench load          mixed load on several nodes, 1,000 tenants [--rate R] [--find-max] [--overload]
  soak                chaos soak of a loopback cluster [--duration D] [--seed N] [--rate R]
  testenv -- CMD...   run CMD with private PostgreSQL and Redis for tests
  version             print the version

configuration comes from ROOST_* environment variables; see docs/configuration.md.
`

type command func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error

var commands = map[string]command{
	"dev":      runDev,
	"serve":    runServe,
	"work":     runWork,
	"migrate":  runMigrate,
	"tenant":   runTenantPortability, // move.go: add-domain, move-domain, delete
	"operator": runOperator,
	"billing":  runBilling,
	"account":  runAccountPortability,
	"follow":   runFollow,
	"post":     runPost,
	"move":     runMove,
	"alias":    runAlias,
	"emoji":    runEmoji,
	"do":       runDo,
	"bench":    runBench,
	"soak":     runSoak, // soak.go: chaos soak of a loopback cluster
	"testenv":  runTestenv,
	"test":     runTest,
	"version":  runVersion,
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "roost: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	cfg, err := config.Load(withDevSettings(os.Getenv, args[0], stderr)) // devsettings.go
	if err != nil {
		fmt.Fprintf(stderr, "roost: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, cfg, log, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		if errs.CodeOf(err) != errs.Internal {
			fmt.Fprintf(stderr, "roost %s: %s\n", args[0], errs.MessageOf(err))
		} else {
			fmt.Fprintf(stderr, "roost %s: %v\n", args[0], err)
		}
		return 1
	}
	return 0
}

// exitError carries a child command's exit status through.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // internal/config accepts only valid levels
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runVersion(_ context.Context, _ *config.Config, _ *slog.Logger, _ []string) error {
	fmt.Println("roost", version)
	return nil
}
