package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation/social/report"
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
	domains, cursors, err := h.DomainBlocks.DomainBlocks(c.UserContext(), viewer(c), page(c, 100, 200))
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
			if err := h.DomainBlocks.UnblockDomain(c.UserContext(), me.ID, domain); err != nil {
				return err
			}
			return c.JSON(struct{}{})
		}
		if domain == strings.ToLower(me.Domain) {
			return errs.E(errs.Invalid, "Validation failed: you cannot block your own domain")
		}
		if err := h.DomainBlocks.BlockDomain(c.UserContext(), me.ID, domain); err != nil {
			return err
		}
		// As on Mastodon, followers from the domain are removed (their
		// servers told with Reject).
		followers, err := h.DomainBlocks.FollowersOn(c.UserContext(), me.ID, domain)
		if err != nil {
			return err
		}
		for _, id := range followers {
			f, err := h.Accounts.AccountByID(c.UserContext(), id)
			if errs.CodeOf(err) == errs.NotFound {
				continue // gone since it was listed
			} else if err != nil {
				return err
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

// report files a report through the report use case and renders it.
func (h *Handler) report(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	forward, _ := p.boolean("forward") // absent or unreadable: not forwarded
	r, target, err := h.reports(c).File(c.UserContext(), me, report.Form{
		AccountID: p.str("account_id"), Comment: p.str("comment"), Category: p.str("category"),
		RuleIDs: p.list("rule_ids"), StatusIDs: p.list("status_ids"), Forward: forward,
		ActingHost: httpx.SiteOf(c).ActorHost(),
	})
	if err != nil {
		return err
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

// reports is the report use case over the handler's stores: forwarded
// reports are queued as deliveries with the report and sent by the
// delivery workers (h.Outbox writes the Flag and wakes them).
func (h *Handler) reports(c *fiber.Ctx) *report.Service {
	s := &report.Service{Accounts: h.Accounts, Statuses: h.Views, Store: h.Reports, Log: httpx.Log(c)}
	if h.Outbox != nil {
		s.Flags, s.Dispatch = h.Outbox, h.Outbox.Dispatch
	}
	if h.About != nil {
		s.Rules = h.About // instance_routes.go: rule_ids name the tenant's rules
	}
	return s
}
