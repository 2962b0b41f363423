package admin

import (
	"bytes"
	"context"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/internal/errs"
)

// FederationStore is what the federation and queue pages read and change
// (federation/postgres, with the delivery queue's Redis side and this
// node's domain-block cache; wired in cmd/roost). scope is the session's
// Tenant: 0 acts on the instance's own blocks and sees every tenant's
// deliveries, a tenant id on that tenant's blocks and deliveries alone.
type FederationStore interface {
	ListDomainBlocks(ctx context.Context, scope int64, search string) ([]domainblock.Block, error)
	GetDomainBlock(ctx context.Context, scope, id int64) (*domainblock.Block, error)
	// SaveDomainBlock creates or replaces b.TenantID's block of b.Domain.
	SaveDomainBlock(ctx context.Context, b domainblock.Block) (created bool, err error)
	DeleteDomainBlock(ctx context.Context, scope, id int64) (*domainblock.Block, error)
	PreviewImport(ctx context.Context, scope int64, list []domainblock.Block) ([]domainblock.Change, error)
	ApplyImport(ctx context.Context, scope int64, source string, by domainblock.By, list []domainblock.Block) (*domainblock.Import, error)
	UndoImport(ctx context.Context, scope, id int64) (*domainblock.UndoResult, error)
	Imports(ctx context.Context, scope int64, limit int) ([]domainblock.Import, error)
	AddSubscription(ctx context.Context, scope int64, url string) (*domainblock.Subscription, error)
	Subscriptions(ctx context.Context, scope int64) ([]domainblock.Subscription, error)
	DeleteSubscription(ctx context.Context, scope, id int64) (*domainblock.Subscription, error)

	RemoteHosts(ctx context.Context, scope int64, search string, limit int) ([]domainblock.Host, error)
	RemoteHost(ctx context.Context, scope int64, host string) (*domainblock.Host, error)
	Deliveries(ctx context.Context, scope int64, state, host string, limit int) ([]domainblock.Delivery, error)
	QueueCounts(ctx context.Context, scope int64, now time.Time) (*domainblock.QueueCounts, error)
	RetryDeliveries(ctx context.Context, scope int64, ids []int64) ([]int64, error)
	DiscardDeliveries(ctx context.Context, scope int64, ids []int64) (int64, error)
	// Streams is the Redis side of the delivery queue.
	Streams(ctx context.Context, now time.Time) (*domainblock.Streams, error)
	// Dispatch hands retried rows to the workers.
	Dispatch(ctx context.Context, express bool, ids []int64) error
	// Check is this node's policy in force; Refresh reloads it after a
	// change, so the node that made it enforces it at once (others follow
	// within seconds).
	Check(tenantID int64, host string) domainblock.Verdict
	Refresh(ctx context.Context) error
}

// Federation audit actions; the audit filter lists them (init below).
const (
	ActionBlockCreate     = "domain_block.create"
	ActionBlockUpdate     = "domain_block.update"
	ActionBlockDelete     = "domain_block.delete"
	ActionImport          = "blocklist.import"
	ActionUndoImport      = "blocklist.undo"
	ActionExport          = "blocklist.export"
	ActionSubscribe       = "blocklist.subscribe"
	ActionUnsubscribe     = "blocklist.unsubscribe"
	ActionDeliveryRetry   = "delivery.retry"
	ActionDeliveryDiscard = "delivery.discard"
)

var federationActions = []string{ActionBlockCreate, ActionBlockUpdate, ActionBlockDelete, ActionImport, ActionUndoImport,
	ActionExport, ActionSubscribe, ActionUnsubscribe, ActionDeliveryRetry, ActionDeliveryDiscard}

func init() { Actions = append(Actions, federationActions...) }

// federationRoutes are the federation pages: remote hosts, domain blocks, block lists pages.
var federationRoutes = []route{
	{"GET", "/federation", ManageFederation, fedPage((*Handler).hosts)},
	{"GET", "/federation/host", ManageFederation, fedPage((*Handler).hostPage)},
	{"GET", "/federation/blocks", ManageFederation, fedPage((*Handler).blocks)},
	{"GET", "/federation/block", ManageFederation, fedPage((*Handler).blockPage)},
	{"POST", "/federation/block", ManageFederation, fedPage((*Handler).saveBlock)},
	{"POST", "/federation/block/delete", ManageFederation, fedPage((*Handler).deleteBlock)},
	{"POST", "/federation/blocks/import", ManageFederation, fedPage((*Handler).previewImport)},
	{"POST", "/federation/blocks/import/confirm", ManageFederation, fedPage((*Handler).confirmImport)},
	{"POST", "/federation/blocks/undo", ManageFederation, fedPage((*Handler).undoImport)},
	{"GET", "/federation/blocks/export", ManageFederation, fedPage((*Handler).exportBlocks)},
	{"POST", "/federation/subscriptions", ManageFederation, fedPage((*Handler).subscribe)},
	{"POST", "/federation/subscriptions/delete", ManageFederation, fedPage((*Handler).unsubscribe)},
}

// fedPage answers 503 instead of the page when the node was built
// without a FederationStore (a dashboard wired for tenants only, tests
// of other pages).
func fedPage(fn func(h *Handler, c *fiber.Ctx, s *session) error) func(h *Handler, c *fiber.Ctx, s *session) error {
	return func(h *Handler, c *fiber.Ctx, s *session) error {
		if h.Federation == nil {
			return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available",
				"The federation pages are not available on this node.")
		}
		return fn(h, c, s)
	}
}

var federationNotices = map[string]string{
	"saved":        "Saved: the block is in force on every node within seconds.",
	"deleted":      "Block removed.",
	"imported":     "Imported as one batch; it can be undone below.",
	"undone":       "Import undone.",
	"subscribed":   "Subscribed: roost work fetches the list shortly and applies it as an import.",
	"unsubscribed": "Unsubscribed. The blocks it imported stay until you undo its imports.",
}

func (h *Handler) fedNotice(c *fiber.Ctx) string {
	if n, ok := federationNotices[c.Query("done")]; ok {
		if d := c.Query("detail"); d != "" && len(d) < 200 {
			return n + " " + d
		}
		return n
	}
	return ""
}

type hostsData struct {
	Query    string
	Instance bool
	Hosts    []hostRow
}

type hostRow struct {
	domainblock.Host
	Verdict domainblock.Verdict
	Breaker bool
}

// scopePolicy is the blocks a session may see as a policy: every block in
// force for the instance, only its own for a tenant (never the
// instance's).
func (h *Handler) scopePolicy(ctx context.Context, s *session) (func(host string) domainblock.Verdict, error) {
	if s.Tenant == 0 {
		return func(host string) domainblock.Verdict { return h.Federation.Check(0, host) }, nil
	}
	bs, err := h.Federation.ListDomainBlocks(ctx, s.Tenant, "")
	if err != nil {
		return nil, err
	}
	p := domainblock.NewPolicy(bs)
	return func(host string) domainblock.Verdict { return p.Check(s.Tenant, host) }, nil
}

func (h *Handler) hostRow(verdict func(string) domainblock.Verdict, host domainblock.Host) hostRow {
	r := hostRow{Host: host, Verdict: verdict(host.Host)}
	if host.BreakerUntil != nil && host.BreakerUntil.After(h.now()) {
		r.Breaker = true
	}
	return r
}

func (h *Handler) hosts(c *fiber.Ctx, s *session) error {
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	if len(q) > 253 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad search", "The search is too long.")
	}
	hs, err := h.Federation.RemoteHosts(c.UserContext(), s.Tenant, q, 200)
	if err != nil {
		return h.serverError(c, s, err)
	}
	verdict, err := h.scopePolicy(c.UserContext(), s)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &hostsData{Query: q, Instance: s.Tenant == 0}
	for _, x := range hs {
		d.Hosts = append(d.Hosts, h.hostRow(verdict, x))
	}
	return h.render(c, s, fiber.StatusOK, "federation", &view{Page: titled("Federation"), Data: d})
}

type hostData struct {
	hostRow
	Instance        bool
	Pending, Failed []domainblock.Delivery
	Blocks          []domainblock.Block
}

func (h *Handler) hostPage(c *fiber.Ctx, s *session) error {
	name := strings.ToLower(strings.TrimSpace(c.Query("h")))
	if name == "" || len(name) > 253 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No host named.")
	}
	ctx := c.UserContext()
	host, err := h.Federation.RemoteHost(ctx, s.Tenant, name)
	if err != nil {
		return h.serverError(c, s, err)
	}
	verdict, err := h.scopePolicy(ctx, s)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &hostData{hostRow: h.hostRow(verdict, *host), Instance: s.Tenant == 0}
	if d.Pending, err = h.Federation.Deliveries(ctx, s.Tenant, "pending", name, 50); err != nil {
		return h.serverError(c, s, err)
	}
	if d.Failed, err = h.Federation.Deliveries(ctx, s.Tenant, "failed", name, 50); err != nil {
		return h.serverError(c, s, err)
	}
	all, err := h.Federation.ListDomainBlocks(ctx, s.Tenant, "")
	if err != nil {
		return h.serverError(c, s, err)
	}
	for _, b := range all {
		for _, suf := range domainblock.Suffixes(name) {
			if b.Domain == suf {
				d.Blocks = append(d.Blocks, b)
			}
		}
	}
	return h.render(c, s, fiber.StatusOK, "federation_host", &view{Page: titled(name), Data: d})
}

type blocksData struct {
	Query         string
	Instance      bool
	Blocks        []domainblock.Block
	Imports       []domainblock.Import
	Subscriptions []domainblock.Subscription
	Severities    []domainblock.Severity
	Edit          *domainblock.Block
}

var severities = []domainblock.Severity{domainblock.Suspend, domainblock.Silence, domainblock.Noop}

func (h *Handler) blocks(c *fiber.Ctx, s *session) error {
	ctx := c.UserContext()
	d := &blocksData{Query: strings.ToLower(strings.TrimSpace(c.Query("q"))), Instance: s.Tenant == 0, Severities: severities,
		Edit: &domainblock.Block{Severity: domainblock.Suspend}}
	if len(d.Query) > 253 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad search", "The search is too long.")
	}
	var err error
	if d.Blocks, err = h.Federation.ListDomainBlocks(ctx, s.Tenant, d.Query); err != nil {
		return h.serverError(c, s, err)
	}
	if d.Imports, err = h.Federation.Imports(ctx, s.Tenant, 50); err != nil {
		return h.serverError(c, s, err)
	}
	if d.Subscriptions, err = h.Federation.Subscriptions(ctx, s.Tenant); err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, fiber.StatusOK, "blocks", &view{Page: titled("Domain blocks"), Data: d, Notice: h.fedNotice(c)})
}

func (h *Handler) blockPage(c *fiber.Ctx, s *session) error {
	id, err := strconv.ParseInt(c.Query("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No block id.")
	}
	b, err := h.Federation.GetDomainBlock(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &blocksData{Instance: s.Tenant == 0, Severities: severities, Edit: b}
	return h.render(c, s, fiber.StatusOK, "block_edit", &view{Page: titled("Block " + b.Domain), Data: d})
}

func checked(c *fiber.Ctx, name string) bool {
	v := c.FormValue(name)
	return v == "on" || v == "true" || v == "1"
}

// refresh applies a change on this node at once; other nodes poll.
func (h *Handler) refresh(c *fiber.Ctx) {
	if err := h.Federation.Refresh(c.UserContext()); err != nil {
		h.log(c).WarnContext(c.UserContext(), "reloading domain blocks; they apply within seconds", "err", err)
	}
}

func (h *Handler) saveBlock(c *fiber.Ctx, s *session) error {
	domain, err := domainblock.NormalizeDomain(c.FormValue("domain"))
	if err != nil {
		return h.serverError(c, s, err)
	}
	sev, err := domainblock.ParseSeverity(c.FormValue("severity"))
	if err != nil {
		return h.serverError(c, s, err)
	}
	b := domainblock.Block{TenantID: s.Tenant, Domain: domain, Severity: sev, RejectMedia: checked(c, "reject_media"),
		RejectReports: checked(c, "reject_reports"), Obfuscate: checked(c, "obfuscate"),
		PublicComment: strings.TrimSpace(c.FormValue("public_comment")), PrivateComment: strings.TrimSpace(c.FormValue("private_comment"))}
	if len(b.PublicComment) > 1000 || len(b.PrivateComment) > 1000 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Too long", "Comments are at most 1000 bytes.")
	}
	created, err := h.Federation.SaveDomainBlock(c.UserContext(), b)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.refresh(c)
	action := ActionBlockUpdate
	if created {
		action = ActionBlockCreate
	}
	h.record(c, s.actor(), action, domain, nullTenant(s.Tenant), blockDetail(b))
	return c.Redirect(link(c, "/federation/blocks?done=saved"), fiber.StatusSeeOther)
}

func blockDetail(b domainblock.Block) string {
	d := string(b.Severity)
	if b.RejectMedia {
		d += ", reject media"
	}
	if b.RejectReports {
		d += ", reject reports"
	}
	return d
}

func (h *Handler) deleteBlock(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No block id.")
	}
	b, err := h.Federation.DeleteDomainBlock(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.refresh(c)
	h.record(c, s.actor(), ActionBlockDelete, b.Domain, nullTenant(s.Tenant), blockDetail(*b))
	return c.Redirect(link(c, "/federation/blocks?done=deleted"), fiber.StatusSeeOther)
}

// maxListBytes bounds an uploaded or pasted block list (the server's
// body cap is 1 MB anyway).
const maxListBytes = 900 << 10

// listInput reads the list from the upload ("file") or the text field
// ("list"), with a source naming it for the import record.
func listInput(c *fiber.Ctx) ([]byte, string, error) {
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > maxListBytes {
			return nil, "", errs.E(errs.TooLarge, "the file is larger than %d KB", maxListBytes>>10)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxListBytes+1))
		if err != nil {
			return nil, "", err
		}
		return data, "file " + text.Cut(fh.Filename, 200), nil
	}
	pasted := c.FormValue("list")
	if strings.TrimSpace(pasted) == "" {
		return nil, "", errs.E(errs.Invalid, "choose a CSV file or paste a list")
	}
	if len(pasted) > maxListBytes {
		return nil, "", errs.E(errs.TooLarge, "the list is larger than %d KB", maxListBytes>>10)
	}
	source := strings.TrimSpace(c.FormValue("source"))
	if source == "" {
		source = "pasted list"
	}
	return []byte(pasted), text.Cut(source, 300), nil
}

type previewData struct {
	Source                    string
	List                      string
	Changes                   []domainblock.Change
	Added, Changed, Unchanged int
}

func (h *Handler) previewImport(c *fiber.Ctx, s *session) error {
	data, source, err := listInput(c)
	if err != nil {
		return h.serverError(c, s, err)
	}
	list, err := domainblock.ParseList(data)
	if err != nil {
		return h.serverError(c, s, err)
	}
	changes, err := h.Federation.PreviewImport(c.UserContext(), s.Tenant, list)
	if err != nil {
		return h.serverError(c, s, err)
	}
	// The confirm form carries the list in Mastodon's CSV form, as parsed.
	var buf bytes.Buffer
	if err := domainblock.WriteCSV(&buf, list); err != nil {
		return h.serverError(c, s, err)
	}
	d := &previewData{Source: source, List: buf.String(), Changes: changes}
	for _, ch := range changes {
		switch ch.Kind {
		case domainblock.Add:
			d.Added++
		case domainblock.Update:
			d.Changed++
		default:
			d.Unchanged++
		}
	}
	return h.render(c, s, fiber.StatusOK, "import_preview", &view{Page: titled("Import preview"), Data: d})
}

func (h *Handler) confirmImport(c *fiber.Ctx, s *session) error {
	data, source, err := listInput(c)
	if err != nil {
		return h.serverError(c, s, err)
	}
	list, err := domainblock.ParseList(data)
	if err != nil {
		return h.serverError(c, s, err)
	}
	imp, err := h.Federation.ApplyImport(c.UserContext(), s.Tenant, source, domainblock.By{UserID: s.User.ID, Email: s.User.Email}, list)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.refresh(c)
	h.record(c, s.actor(), ActionImport, fmt.Sprintf("import %d", imp.ID), nullTenant(s.Tenant),
		fmt.Sprintf("%s: %d added, %d changed", source, imp.Added, imp.Changed))
	return c.Redirect(link(c, "/federation/blocks?done=imported&detail="+url.QueryEscape(
		fmt.Sprintf("%d added, %d changed.", imp.Added, imp.Changed))), fiber.StatusSeeOther)
}

func (h *Handler) undoImport(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No import id.")
	}
	res, err := h.Federation.UndoImport(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.refresh(c)
	detail := fmt.Sprintf("%d removed, %d restored, %d left as edited since.", res.Removed, res.Restored, res.Skipped)
	h.record(c, s.actor(), ActionUndoImport, fmt.Sprintf("import %d", id), nullTenant(s.Tenant), detail)
	return c.Redirect(link(c, "/federation/blocks?done=undone&detail="+url.QueryEscape(detail)), fiber.StatusSeeOther)
}

func (h *Handler) exportBlocks(c *fiber.Ctx, s *session) error {
	bs, err := h.Federation.ListDomainBlocks(c.UserContext(), s.Tenant, "")
	if err != nil {
		return h.serverError(c, s, err)
	}
	var buf bytes.Buffer
	if err := domainblock.WriteCSV(&buf, bs); err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionExport, fmt.Sprintf("%d blocks", len(bs)), nullTenant(s.Tenant), "")
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="domain_blocks.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(buf.Bytes())
}

func (h *Handler) subscribe(c *fiber.Ctx, s *session) error {
	raw := strings.TrimSpace(c.FormValue("url"))
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad URL", "Give the block list's full https:// URL.")
	}
	sub, err := h.Federation.AddSubscription(c.UserContext(), s.Tenant, u.String())
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionSubscribe, sub.URL, nullTenant(s.Tenant), "")
	return c.Redirect(link(c, "/federation/blocks?done=subscribed"), fiber.StatusSeeOther)
}

func (h *Handler) unsubscribe(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No subscription id.")
	}
	sub, err := h.Federation.DeleteSubscription(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionUnsubscribe, sub.URL, nullTenant(s.Tenant), "")
	return c.Redirect(link(c, "/federation/blocks?done=unsubscribed"), fiber.StatusSeeOther)
}
