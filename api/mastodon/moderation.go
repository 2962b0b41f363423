package mastodon

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

func (h *Handler) registerModeration(v1 fiber.Router) {
	v1.Get("/domain_blocks", h.need("read:blocks"), h.domainBlocks)
	v1.Post("/domain_blocks", h.need("write:blocks"), h.blockDomain(true))
	v1.Delete("/domain_blocks", h.need("write:blocks"), h.blockDomain(false))
	v1.Post("/reports", h.need("write:reports"), h.report)
}

func (h *Handler) domainBlocks(c *fiber.Ctx) error {
	domains, cursors, err := h.More.DomainBlocks(c.UserContext(), viewer(c), page(c, 100, 200))
	if err != nil {
		return err
	}
	if domains == nil {
		domains = []string{}
	}
	h.linkHeader(c, cursors)
	return c.JSON(domains)
}

func (h *Handler) blockDomain(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		raw := strings.TrimSpace(p.str("domain"))
		if raw == "" {
			return errs.E(errs.Invalid, "Validation failed: Domain can't be blank")
		}
		domain, err := tenant.NormalizeDomain(raw)
		if err != nil {
			return errs.E(errs.Invalid, "Validation failed: Domain is not a valid domain name")
		}
		if !on {
			if err := h.More.UnblockDomain(c.UserContext(), me.ID, domain); err != nil {
				return err
			}
			return c.JSON(struct{}{})
		}
		if domain == strings.ToLower(me.Domain) {
			return errs.E(errs.Invalid, "Validation failed: you cannot block your own domain")
		}
		if err := h.More.BlockDomain(c.UserContext(), me.ID, domain); err != nil {
			return err
		}
		// As on Mastodon, followers from the domain are removed (their
		// servers told with Reject).
		followers, err := h.More.FollowersOn(c.UserContext(), me.ID, domain)
		if err != nil {
			return err
		}
		for _, id := range followers {
			f, err := h.Accounts.AccountByID(c.UserContext(), id)
			if err != nil {
				continue
			}
			if err := h.Outbox.AnswerFollow(c.UserContext(), me, f, false); err != nil && errs.CodeOf(err) != errs.NotFound {
				return err
			}
		}
		return c.JSON(struct{}{})
	}
}

// ReportJSON is Mastodon's Report entity.
type ReportJSON struct {
	ID            string   `json:"id"`
	ActionTaken   bool     `json:"action_taken"`
	ActionTakenAt *string  `json:"action_taken_at"`
	Category      string   `json:"category"`
	Comment       string   `json:"comment"`
	Forwarded     bool     `json:"forwarded"`
	CreatedAt     string   `json:"created_at"`
	StatusIDs     []string `json:"status_ids"`
	RuleIDs       []string `json:"rule_ids"`
	TargetAccount *Account `json:"target_account"`
}

// maxReportComment is Mastodon's limit on a report's comment.
const maxReportComment = 1000

func (h *Handler) report(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	targetID, err := strconv.ParseInt(p.str("account_id"), 10, 64)
	if err != nil || targetID <= 0 {
		return errs.E(errs.Invalid, "account_id is required")
	}
	target, err := h.Accounts.AccountByID(c.UserContext(), targetID)
	if err != nil {
		return errNotFound
	}
	if target.ID == me.ID {
		return errs.E(errs.Invalid, "Validation failed: you cannot report yourself")
	}
	r := &federation.UserReport{ReporterID: me.ID, ReporterTenantID: me.TenantID, TargetTenantID: target.TenantID,
		TargetID: target.ID, Comment: strings.TrimSpace(p.str("comment")), Category: federation.ReportOther}
	if utf8.RuneCountInString(r.Comment) > maxReportComment {
		return errs.E(errs.Invalid, "Validation failed: Comment is too long (maximum is %d characters)", maxReportComment)
	}
	for _, s := range p.list("rule_ids") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errs.E(errs.Invalid, "Validation failed: rule_ids must be rule ids")
		}
		r.RuleIDs = append(r.RuleIDs, id)
	}
	if len(r.RuleIDs) > 0 {
		r.Category = federation.ReportViolation
	}
	if cat := p.str("category"); cat != "" {
		switch cat {
		case federation.ReportSpam, federation.ReportLegal, federation.ReportViolation, federation.ReportOther:
			r.Category = cat
		default:
			return errs.E(errs.Invalid, "Validation failed: category must be spam, legal, violation or other")
		}
	}
	// Only the target's posts the reporter can see may be attached.
	var ids []int64
	for _, s := range p.list("status_ids") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errNotFound
		}
		ids = append(ids, id)
	}
	if len(ids) > 100 {
		return errs.E(errs.Invalid, "at most 100 status_ids")
	}
	var uris []string
	if len(ids) > 0 {
		views, err := h.Views.StatusViews(c.UserContext(), me.ID, ids)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, v := range views {
			if v.AccountID == target.ID {
				seen[v.ID] = true
				r.StatusIDs = append(r.StatusIDs, v.ID)
				uris = append(uris, v.URI)
			}
		}
		for _, id := range ids {
			if !seen[id] {
				return errNotFound
			}
		}
	}
	forward, _ := p.boolean("forward")
	r.Forwarded = forward && target.Remote != nil
	if err := h.More.FileReport(c.UserContext(), r); err != nil {
		return err
	}
	if r.Forwarded {
		h.forwardReport(c, target, uris, r.Comment)
	}
	out := ReportJSON{ID: idStr(r.ID), Category: r.Category, Comment: r.Comment, Forwarded: r.Forwarded,
		CreatedAt: ts(r.CreatedAt), StatusIDs: []string{}, RuleIDs: []string{}}
	for _, id := range r.StatusIDs {
		out.StatusIDs = append(out.StatusIDs, idStr(id))
	}
	for _, id := range r.RuleIDs {
		out.RuleIDs = append(out.RuleIDs, idStr(id))
	}
	if out.TargetAccount, err = h.oneAccount(c, target.ID); err != nil {
		return err
	}
	return c.JSON(out)
}

// forwardReport sends the Flag to the reported account's server in the
// background, retrying a few times: the report is filed here already,
// and the reporter need not wait on another server.
func (h *Handler) forwardReport(c *fiber.Ctx, target *federation.Account, uris []string, comment string) {
	host := httpx.SiteOf(c).ActorHost()
	log := httpx.Log(c)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var err error
		for attempt := 0; attempt < 4; attempt++ {
			if attempt > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(attempt*attempt) * 5 * time.Second):
				}
			}
			if err = h.Outbox.ForwardReport(ctx, host, target, uris, comment); err == nil {
				return
			}
		}
		log.Warn("report not forwarded", "target", target.Remote.URI, "err", err)
	}()
}
