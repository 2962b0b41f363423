package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// runFollow makes a local account follow a remote one:
// roost follow --account alice@alice.example --target bob@club.example
func runFollow(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("follow", flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	target := fs.String("target", "", "remote account, user@domain or actor URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		return errs.E(errs.Invalid, "usage: roost follow --account user@domain --target user@domain")
	}
	return asLocal(ctx, cfg, log, *account, func(fd *fed, local *federation.Account) error {
		f, err := fd.outbox.Follow(ctx, local, *target)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", f.State, f.URI)
		return nil
	})
}

// runPost publishes a post of a local account:
// roost post --account alice@alice.example --text "Hello" [--visibility public]
func runPost(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	text := fs.String("text", "", "the post's text (required)")
	cw := fs.String("cw", "", "content warning")
	visibility := fs.String("visibility", "public", "public, unlisted, private or direct")
	replyTo := fs.String("reply-to", "", "URI of the post this answers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return asLocal(ctx, cfg, log, *account, func(fd *fed, local *federation.Account) error {
		st, err := fd.outbox.Post(ctx, local, outbox.NewPost{Text: *text, Summary: *cw,
			Visibility: federation.Visibility(*visibility), InReplyToURI: *replyTo})
		if err != nil {
			return err
		}
		fmt.Println(st.URI)
		return nil
	})
}

// runMove moves a local account to another (which lists it as an alias):
// roost move --account alice@old.example --to alice@new.example
func runMove(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("move", flag.ContinueOnError)
	account := fs.String("account", "", "local account moving away, user@domain (required)")
	to := fs.String("to", "", "account moved to, user@domain or actor URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errs.E(errs.Invalid, "usage: roost move --account user@domain --to user@domain")
	}
	return asLocal(ctx, cfg, log, *account, func(fd *fed, local *federation.Account) error {
		uri, err := fd.outbox.Move(ctx, local, *to)
		if err != nil {
			return err
		}
		fmt.Println("moved to", uri)
		return nil
	})
}

// runAlias adds an alias (alsoKnownAs) so another account can move here:
// roost alias --account alice@new.example --add alice@old.example
func runAlias(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("alias", flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	add := fs.String("add", "", "account that may move here, user@domain or actor URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *add == "" {
		return errs.E(errs.Invalid, "usage: roost alias --account user@domain --add user@domain")
	}
	return asLocal(ctx, cfg, log, *account, func(fd *fed, local *federation.Account) error {
		uri, err := fd.outbox.AddAlias(ctx, local, *add)
		if err != nil {
			return err
		}
		fmt.Println("alias", uri)
		return nil
	})
}

// runDo performs one action of a local account on a post or an account:
// roost do like|unlike|boost|unboost|delete|block|unblock|unfollow --account A --target T,
// roost do edit --account A --target POST-URI --text T
func runDo(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "usage: roost do VERB --account user@domain --target T")
	}
	verb := args[0]
	fs := flag.NewFlagSet("do "+verb, flag.ContinueOnError)
	account := fs.String("account", "", "local account, user@domain (required)")
	target := fs.String("target", "", "post URI, or account user@domain / actor URL (required)")
	text := fs.String("text", "", "new text (edit)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *target == "" {
		return errs.E(errs.Invalid, "--target is required")
	}
	return asLocal(ctx, cfg, log, *account, func(fd *fed, local *federation.Account) error {
		o := fd.outbox
		switch verb {
		case "like", "unlike":
			return o.Like(ctx, local, *target, verb == "unlike")
		case "boost", "unboost":
			_, err := o.Boost(ctx, local, *target, verb == "unboost")
			return err
		case "edit":
			return o.Edit(ctx, local, *target, *text)
		case "delete":
			return o.Delete(ctx, local, *target)
		case "block", "unblock":
			return o.Block(ctx, local, *target, verb == "unblock")
		case "unfollow":
			return o.Unfollow(ctx, local, *target)
		}
		return errs.E(errs.Invalid, "unknown action %q", verb)
	})
}

// asLocal runs fn with the federation machinery and the local account
// named user@domain.
func asLocal(ctx context.Context, cfg *config.Config, log *slog.Logger, account string, fn func(*fed, *federation.Account) error) error {
	user, domain, ok := strings.Cut(strings.TrimPrefix(account, "@"), "@")
	if !ok {
		return errs.E(errs.Invalid, "--account must be user@domain")
	}
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	if err := checkOrigin(ctx, cfg, svc); err != nil { // links for the served origin only
		return err
	}
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return err
	}
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return err
	}
	local, err := svc.social.AccountByUsername(ctx, site.TenantID, site.Domain, user)
	if err != nil {
		return err
	}
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	return fn(fd, local)
}
