package mastodon

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/hotcache"
)

// InstanceDocsSize and InstanceDocsTTL bound the cache of rendered
// instance documents: two versions per tenant URL. The TTL is how stale
// the usage figures (users, posts, active accounts) may be, as Mastodon
// caches them too; every other part is dropped on the database's
// announcement (rules, about texts, domains, the contact account).
const (
	InstanceDocsSize = 4_000
	InstanceDocsTTL  = time.Minute
)

// InstanceDocKey is what an instance document depends on: the tenant,
// the API version and the base URL it was asked at (links and the
// streaming URL name it).
type InstanceDocKey struct {
	Tenant  int64
	Version string
	Base    string
}

// NewInstanceDocs is the cache of rendered instance documents in set.
func NewInstanceDocs(set *hotcache.Set) *hotcache.Cache[InstanceDocKey, []byte] {
	return hotcache.New[InstanceDocKey, []byte](set, "instance_documents", InstanceDocsSize, InstanceDocsTTL)
}

// instanceDoc answers with the rendered document from h.InstanceDocs, or
// renders it (render also names the contact account it embeds, whose
// changes drop it) and keeps it. The document is the same for every
// viewer.
func (h *Handler) instanceDoc(c *fiber.Ctx, version string, render func(*fiber.Ctx) (map[string]any, *Account, error)) error {
	if h.InstanceDocs == nil {
		doc, _, err := render(c)
		if err != nil {
			return err
		}
		return c.JSON(doc)
	}
	site := httpx.SiteOf(c)
	k := InstanceDocKey{Tenant: site.TenantID, Version: version, Base: httpx.SiteBase(c, h.URL)}
	b, err := h.InstanceDocs.Load(c.UserContext(), k, func(_ context.Context) ([]byte, []hotcache.Tag, error) {
		doc, contact, err := render(c)
		if err != nil {
			return nil, nil, err
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, nil, err
		}
		tags := []hotcache.Tag{{Kind: hotcache.Tenant, ID: site.TenantID}}
		if contact != nil {
			if id, err := strconv.ParseInt(contact.ID, 10, 64); err == nil {
				tags = append(tags, hotcache.Tag{Kind: hotcache.Account, ID: id})
			}
		}
		return b, tags, nil
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}
