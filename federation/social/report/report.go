// Package report is the use case of a person reporting an account: who
// may be reported, with which category, rules and posts, and the
// forwarding of a report about a remote account to its server. A
// forwarded report's Flag is queued as a delivery in the transaction that
// files the report (federation.ReportStore), so it survives a restart;
// the delivery workers send it, signed by the reporter's site's instance
// actor.
package report

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// MaxComment is Mastodon's limit on a report's comment, in characters.
const MaxComment = 1000

// MaxStatuses is the most posts one report may attach.
const MaxStatuses = 100

var errNotFound = errs.E(errs.NotFound, "Record not found")

// Accounts finds the reported account.
type Accounts interface {
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// Statuses tells which posts the reporter may see (federation.ViewStore).
type Statuses interface {
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
}

// Dispatcher hands queued delivery rows to the delivery workers at once;
// rows it misses are due already and the workers' sweeper sends them.
type Dispatcher interface {
	Dispatch(ctx context.Context, express bool, ids []int64) error
}

// Service files reports.
type Service struct {
	Accounts Accounts
	Statuses Statuses
	Store    federation.ReportStore
	// Flags writes the Flag of a forwarded report; nil: reports are not
	// forwarded (forward=true is refused).
	Flags    federation.FlagBuilder
	Dispatch Dispatcher // nil: the sweeper alone sends forwards
	Log      *slog.Logger
	// Rules are the reporter's tenant's server rules (issue 17): rule_ids
	// must name them. nil: rule ids are only checked to be ids.
	Rules RuleLister
}

// RuleLister lists a tenant's server rules (federation/social/about).
type RuleLister interface {
	Rules(ctx context.Context, tenantID int64) ([]federation.ServerRule, error)
}

// Form is a report as the client sent it: ids still as text, so that each
// malformed one is refused with the error Mastodon gives for it.
type Form struct {
	AccountID string
	Comment   string
	Category  string // "" : violation with rule ids, other without
	RuleIDs   []string
	StatusIDs []string
	// Forward asks for a remote account's report to go to its server too.
	Forward bool
	// ActingHost is the reporter's site's actor host, whose instance actor
	// signs a forwarded report.
	ActingHost string
}

// File files reporter's report and returns it with the reported account.
// The reporter may not report themselves; the attached posts must be the
// target's and visible to the reporter; a report is forwarded only when
// asked and only for a remote account.
func (s *Service) File(ctx context.Context, reporter *federation.Account, f Form) (*federation.UserReport, *federation.Account, error) {
	targetID, err := strconv.ParseInt(f.AccountID, 10, 64)
	if err != nil || targetID <= 0 {
		return nil, nil, errs.E(errs.Invalid, "account_id is required")
	}
	target, err := s.Accounts.AccountByID(ctx, targetID)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil, errNotFound
	} else if err != nil {
		return nil, nil, err // a store failure is not "no such account"
	}
	if target.ID == reporter.ID {
		return nil, nil, errs.E(errs.Invalid, "Validation failed: you cannot report yourself")
	}
	r := &federation.UserReport{ReporterID: reporter.ID, ReporterTenantID: reporter.TenantID, TargetTenantID: target.TenantID,
		TargetID: target.ID, Comment: strings.TrimSpace(f.Comment)}
	if err := classify(r, f); err != nil {
		return nil, nil, err
	}
	if err := s.checkRules(ctx, reporter.TenantID, r.RuleIDs); err != nil {
		return nil, nil, err
	}
	uris, err := s.attach(ctx, r, f.StatusIDs)
	if err != nil {
		return nil, nil, err
	}
	r.Forwarded = f.Forward && target.Remote != nil
	if r.Forwarded {
		if s.Flags == nil {
			return nil, nil, errs.E(errs.Unavailable, "reports are not forwarded here")
		}
		if r.Forward, err = s.Flags.Flag(f.ActingHost, target, uris, r.Comment); err != nil {
			return nil, nil, err
		}
	}
	if err := s.Store.FileReport(ctx, r); err != nil {
		return nil, nil, err
	}
	s.dispatch(ctx, r)
	return r, target, nil
}

// checkRules refuses rule ids that are not the reporter's tenant's rules,
// as Mastodon refuses rules it does not have: no report names another
// tenant's rule or one deleted.
func (s *Service) checkRules(ctx context.Context, tenantID int64, ids []int64) error {
	if s.Rules == nil || len(ids) == 0 {
		return nil
	}
	rules, err := s.Rules.Rules(ctx, tenantID)
	if err != nil {
		return err
	}
	known := make(map[int64]bool, len(rules))
	for _, r := range rules {
		known[r.ID] = true
	}
	for _, id := range ids {
		if !known[id] {
			return errs.E(errs.Invalid, "Validation failed: rule_ids must be this server's rules")
		}
	}
	return nil
}

// classify checks the comment's length and sets the rule ids and the
// category: violation when rules are named, unless a category is given.
func classify(r *federation.UserReport, f Form) error {
	if utf8.RuneCountInString(r.Comment) > MaxComment {
		return errs.E(errs.Invalid, "Validation failed: Comment is too long (maximum is %d characters)", MaxComment)
	}
	r.Category = federation.ReportOther
	for _, s := range f.RuleIDs {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errs.E(errs.Invalid, "Validation failed: rule_ids must be rule ids")
		}
		r.RuleIDs = append(r.RuleIDs, id)
	}
	if len(r.RuleIDs) > 0 {
		r.Category = federation.ReportViolation
	}
	switch f.Category {
	case "":
	case federation.ReportSpam, federation.ReportLegal, federation.ReportViolation, federation.ReportOther:
		r.Category = f.Category
	default:
		return errs.E(errs.Invalid, "Validation failed: category must be spam, legal, violation or other")
	}
	return nil
}

// attach sets the report's posts: every id must be a post of the target
// the reporter can see, or the report is refused as not found (which
// tells nothing about posts the reporter may not see). It returns their
// URIs, for a forwarded Flag.
func (s *Service) attach(ctx context.Context, r *federation.UserReport, raw []string) ([]string, error) {
	var ids []int64
	for _, s := range raw {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, errNotFound
		}
		ids = append(ids, id)
	}
	if len(ids) > MaxStatuses {
		return nil, errs.E(errs.Invalid, "at most %d status_ids", MaxStatuses)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	views, err := s.Statuses.StatusViews(ctx, r.ReporterID, ids)
	if err != nil {
		return nil, err
	}
	var uris []string
	seen := map[int64]bool{}
	for _, v := range views {
		if v.AccountID == r.TargetID {
			seen[v.ID] = true
			r.StatusIDs = append(r.StatusIDs, v.ID)
			uris = append(uris, v.URI)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			return nil, errNotFound
		}
	}
	return uris, nil
}

// dispatch wakes the delivery workers for a forwarded report. The row is
// committed and due already, so a failure here only delays it to the
// sweeper's next pass: logged, not returned (the report is filed; a
// retried request would file it twice).
func (s *Service) dispatch(ctx context.Context, r *federation.UserReport) {
	if r.Forward == nil || r.Forward.DeliveryID == 0 || s.Dispatch == nil {
		return
	}
	if err := s.Dispatch.Dispatch(ctx, true, []int64{r.Forward.DeliveryID}); err != nil {
		log := s.Log
		if log == nil {
			log = slog.Default()
		}
		log.Warn("report forward left to the delivery sweeper", "delivery", r.Forward.DeliveryID, "err", err)
	}
}
