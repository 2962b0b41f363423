package mastodon

import (
	"context"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
)

// Rendering for the public web pages (api/public): the same entities the
// REST API answers an anonymous request on site with, so the pages show
// exactly what a signed-out client sees — the same visibility rules, the
// same hides of the site's tenant, one copy of each.

// PublicStatuses renders the statuses of ids that the signed-out public
// of site may see, in order; those it may not are left out.
func (h *Handler) PublicStatuses(ctx context.Context, site *tenant.Site, ids []int64) ([]*Status, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	r := h.streamRenderer(ctx, site, 0)
	views, err := h.Views.StatusViews(ctx, r.seer, ids)
	if err != nil {
		return nil, err
	}
	return r.statuses(views)
}

// PublicAccounts renders the accounts of ids the client API shows, in
// order; unknown and suspended ones are left out.
func (h *Handler) PublicAccounts(ctx context.Context, site *tenant.Site, ids []int64) ([]*Account, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	views, err := h.Views.AccountViews(ctx, ids)
	if err != nil {
		return nil, err
	}
	r := h.streamRenderer(ctx, site, 0)
	out := make([]*Account, 0, len(ids))
	for _, id := range ids {
		if v, ok := views[id]; ok {
			out = append(out, r.account(v))
		}
	}
	if err := r.addAccountEmojis(out, views); err != nil {
		return nil, err
	}
	return out, nil
}

// PublicAccount renders one account as PublicAccounts does, or
// errs.NotFound.
func (h *Handler) PublicAccount(ctx context.Context, site *tenant.Site, id int64) (*Account, error) {
	out, err := h.PublicAccounts(ctx, site, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNotFound
	}
	return out[0], nil
}

// PublicOwner is the id of site's tenant's oldest local account, and how
// many accounts the tenant has (0, 0 when unknown).
func (h *Handler) PublicOwner(ctx context.Context, site *tenant.Site) (id int64, users int64, err error) {
	if h.InstanceData == nil {
		return 0, 0, nil
	}
	u, err := h.Accounts.Usage(ctx, site.TenantID)
	if err != nil {
		return 0, 0, err
	}
	id, err = h.InstanceData.Owner(ctx, site.TenantID)
	if err != nil {
		return 0, u.Users, err
	}
	return id, u.Users, nil
}

// PublicDirectory lists the tenant's own discoverable accounts, most
// recently active first, at most limit (none without Relations).
func (h *Handler) PublicDirectory(ctx context.Context, site *tenant.Site, limit int) ([]*Account, error) {
	if h.Relations == nil {
		return nil, nil
	}
	ids, err := h.Relations.Directory(ctx, federation.DirectoryQuery{TenantID: site.TenantID, Local: true, Limit: limit})
	if err != nil {
		return nil, err
	}
	return h.PublicAccounts(ctx, site, ids)
}

// PublicAbout is what site's tenant wrote about its server: its rules,
// in order, and its about text as HTML (rendered from the admin's text,
// which passes no HTML of its own); none without About.
func (h *Handler) PublicAbout(ctx context.Context, site *tenant.Site) (rules []Rule, about string, err error) {
	if h.About == nil {
		return nil, "", nil
	}
	rs, err := h.About.Rules(ctx, site.TenantID)
	if err != nil {
		return nil, "", err
	}
	for _, r := range rs {
		rules = append(rules, Rule{ID: idStr(r.ID), Text: r.Text, Hint: r.Hint})
	}
	d, err := h.About.ExtendedDescription(ctx, site.TenantID)
	if err != nil {
		return nil, "", err
	}
	return rules, d.Content, nil
}
