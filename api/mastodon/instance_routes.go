package mastodon

// Issue 17, the instance's own routes (GET /api/v1/instance/...) and the
// parts of the instance document that are the tenant's: its contact
// account, its accounts limits, its registrations.

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/profile"
	"github.com/roost-social/roost/internal/errs"
)

// Bounds of the instance routes, as Mastodon's: twelve weeks of activity;
// peers are capped so one answer stays small whatever the tenant follows.
const (
	activityWeeks = 12
	maxPeers      = 10000
)

// mastodonVersion is the Mastodon release whose client API Roost claims,
// and mastodonAPIVersion its api_versions.mastodon (7 is 4.5's: quote
// posts; 2 was 4.3's grouped notifications). Apps gate features on them
// (quoting, grouped notifications), so they say what Roost serves: every
// 4.5 route but the few cmd/roost/testdata/mastodon-4.5-routes.txt marks
// as not served. The version string carries the release with Roost as
// semver build metadata, as forks of Mastodon do.
const (
	mastodonVersion    = "4.5.0"
	mastodonAPIVersion = 7
)

func (h *Handler) registerInstanceRoutes(v1 fiber.Router) {
	v1.Get("/instance/rules", h.instanceRules)
	v1.Get("/instance/extended_description", h.extendedDescription)
	v1.Get("/instance/privacy_policy", h.privacyPolicy)
	v1.Get("/instance/terms_of_service", h.termsOfService)
	v1.Get("/instance/terms_of_service/:date", h.termsOfService)
	v1.Get("/instance/languages", h.instanceLanguages)
	v1.Get("/instance/peers", h.instancePeers)
	v1.Get("/instance/activity", h.instanceActivity)
	v1.Get("/instance/domain_blocks", h.instanceDomainBlocks)
}

// Rule is Mastodon's Rule entity.
type Rule struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	Hint string `json:"hint"`
}

// instanceRules lists the tenant's rules, in the order its admins set.
func (h *Handler) instanceRules(c *fiber.Ctx) error {
	rules, err := h.rules(c)
	if err != nil {
		return err
	}
	return c.JSON(rules)
}

// rules are the tenant's rules as entities (also in the instance
// documents); none when the node has no about use case.
func (h *Handler) rules(c *fiber.Ctx) ([]Rule, error) {
	out := []Rule{}
	if h.About == nil {
		return out, nil
	}
	rs, err := h.About.Rules(c.UserContext(), httpx.SiteOf(c).TenantID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		out = append(out, Rule{ID: idStr(r.ID), Text: r.Text, Hint: r.Hint})
	}
	return out, nil
}

// extendedDescription is the tenant's about text: empty content never
// updated when it wrote none, as Mastodon answers.
func (h *Handler) extendedDescription(c *fiber.Ctx) error {
	if h.About == nil {
		return c.JSON(map[string]any{"updated_at": nil, "content": ""})
	}
	d, err := h.About.ExtendedDescription(c.UserContext(), httpx.SiteOf(c).TenantID)
	if err != nil {
		return err
	}
	return c.JSON(documentJSON(d))
}

// privacyPolicy is the tenant's privacy policy; 404 when it wrote none
// (Roost will not invent a policy for a tenant).
func (h *Handler) privacyPolicy(c *fiber.Ctx) error {
	if h.About == nil {
		return errNotFound
	}
	d, err := h.About.PrivacyPolicy(c.UserContext(), httpx.SiteOf(c).TenantID)
	if err != nil {
		return err
	}
	return c.JSON(documentJSON(d))
}

func documentJSON(d *about.Document) map[string]any {
	var updated any
	if d.UpdatedAt != nil {
		updated = ts(*d.UpdatedAt)
	}
	return map[string]any{"updated_at": updated, "content": d.Content}
}

// termsOfService is the version in force (or, with :date, the version
// taking effect that day), as Mastodon 4.4's TermsOfService entity; 404
// until the tenant publishes terms.
func (h *Handler) termsOfService(c *fiber.Ctx) error {
	if h.About == nil {
		return errNotFound
	}
	tenantID := httpx.SiteOf(c).TenantID
	var t *about.Terms
	var err error
	if date := c.Params("date"); date != "" {
		t, err = h.About.TermsOn(c.UserContext(), tenantID, date)
	} else {
		t, err = h.About.CurrentTerms(c.UserContext(), tenantID)
	}
	if err != nil {
		return err
	}
	var next any
	if t.SucceededBy != nil {
		next = t.SucceededBy.Format(about.DateFormat)
	}
	return c.JSON(map[string]any{"effective_date": t.EffectiveDate.Format(about.DateFormat), "effective": t.Effective,
		"content": t.Content, "succeeded_by": next})
}

// InstanceDomainBlock is Mastodon's DomainBlock entity (the instance's list).
type InstanceDomainBlock struct {
	Domain   string  `json:"domain"`
	Digest   string  `json:"digest"`
	Severity string  `json:"severity"`
	Comment  *string `json:"comment,omitempty"`
}

// instanceDomainBlocks lists the tenant's domain blocks as its admins
// chose to show them: 404 while hidden from the reader (Mastodon's
// default), comments only when those are shown too.
func (h *Handler) instanceDomainBlocks(c *fiber.Ctx) error {
	if h.About == nil {
		return errNotFound
	}
	bs, err := h.About.DomainBlocks(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c) != 0)
	if err != nil {
		return err
	}
	out := make([]InstanceDomainBlock, 0, len(bs))
	for _, b := range bs {
		out = append(out, InstanceDomainBlock{Domain: b.Domain, Digest: b.Digest, Severity: b.Severity, Comment: b.Comment})
	}
	return c.JSON(out)
}

func (h *Handler) instanceLanguages(c *fiber.Ctx) error {
	out := make([]map[string]string, 0, len(languages))
	for _, l := range languages {
		out = append(out, map[string]string{"code": l[0], "name": l[1]})
	}
	return c.JSON(out)
}

// instancePeers lists the domains this tenant federates with: those of
// the remote accounts its accounts follow or are followed by.
func (h *Handler) instancePeers(c *fiber.Ctx) error {
	out := []string{}
	if h.InstanceData != nil {
		peers, err := h.InstanceData.Peers(c.UserContext(), httpx.SiteOf(c).TenantID, maxPeers)
		if err != nil {
			return err
		}
		out = append(out, peers...)
	}
	return c.JSON(out)
}

// instanceActivity reports the tenant's last twelve weeks, the current
// one first, with Mastodon's string-typed counts.
func (h *Handler) instanceActivity(c *fiber.Ctx) error {
	out := []map[string]string{}
	if h.InstanceData != nil {
		weeks, err := h.InstanceData.Activity(c.UserContext(), httpx.SiteOf(c).TenantID, activityWeeks, time.Now())
		if err != nil {
			return err
		}
		for _, w := range weeks {
			out = append(out, map[string]string{"week": idStr(w.Week.Unix()), "statuses": idStr(w.Statuses),
				"logins": idStr(w.Logins), "registrations": idStr(w.Registrations)})
		}
	}
	return c.JSON(out)
}

// contactAccount is the tenant's contact account for the instance
// document: its admin's (federation.InstanceStore.Owner), or null when the
// tenant has no account.
func (h *Handler) contactAccount(c *fiber.Ctx) (*Account, error) {
	if h.InstanceData == nil {
		return nil, nil
	}
	id, err := h.InstanceData.Owner(c.UserContext(), httpx.SiteOf(c).TenantID)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := h.oneAccount(c, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	return a, err
}

// accountsConfig is configuration.accounts of the instance document: the
// limits Roost's profile and pin rules enforce.
func accountsConfig() map[string]any {
	return map[string]any{
		"max_note_length": profile.MaxNote, "max_featured_tags": federation.MaxFeaturedTags,
		"max_pinned_statuses": federation.MaxPins, "max_profile_fields": profile.MaxFields,
		"profile_field_name_limit": profile.MaxFieldName, "profile_field_value_limit": profile.MaxFieldValue,
	}
}

// registrationsV2 is the instance document's registrations: accounts are
// made on a tenant's dashboard, never signed up for through the API.
func registrationsV2() map[string]any {
	return map[string]any{"enabled": false, "approval_required": true, "reason_required": false,
		"message": nil, "min_age": nil, "url": nil}
}

// versionString is Mastodon's version format: the claimed Mastodon
// release, then Roost's own as build metadata with its dots as hyphens,
// so that clients which read any x.y.z after a "+" (Mastodon.py does, for
// Hometown) never take Roost's version for Mastodon's.
func versionString(roost string) string {
	v := make([]byte, 0, len(roost))
	for i := 0; i < len(roost) && len(v) < 64; i++ {
		switch b := roost[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
			v = append(v, b)
		default:
			v = append(v, '-')
		}
	}
	if len(v) == 0 {
		return mastodonVersion + "+roost"
	}
	return mastodonVersion + "+roost-" + string(v)
}
