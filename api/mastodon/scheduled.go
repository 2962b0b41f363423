package mastodon

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/status"
	"github.com/roost-social/roost/internal/errs"
)

// Scheduled posts (docs.joinmastodon.org/methods/scheduled_statuses):
// POST /api/v1/statuses with scheduled_at, and the list to read, move
// and cancel them; `roost work` publishes them (federation/social/schedule).

// ScheduledStatus is Mastodon's ScheduledStatus entity.
type ScheduledStatus struct {
	ID               string          `json:"id"`
	ScheduledAt      string          `json:"scheduled_at"`
	Params           ScheduledParams `json:"params"`
	MediaAttachments []Attachment    `json:"media_attachments"`
}

// ScheduledParams is the post a ScheduledStatus will publish.
type ScheduledParams struct {
	Text          string         `json:"text"`
	Poll          *ScheduledPoll `json:"poll"`
	MediaIDs      []string       `json:"media_ids"`
	Sensitive     bool           `json:"sensitive"`
	SpoilerText   *string        `json:"spoiler_text"`
	Visibility    string         `json:"visibility"`
	InReplyToID   *string        `json:"in_reply_to_id"`
	Language      *string        `json:"language"`
	ApplicationID *int64         `json:"application_id"`
	ScheduledAt   *string        `json:"scheduled_at"`
	Idempotency   *string        `json:"idempotency"`
	WithRateLimit bool           `json:"with_rate_limit"`
}

// ScheduledPoll is a scheduled post's poll, as Mastodon shows it.
type ScheduledPoll struct {
	Options    []string `json:"options"`
	ExpiresIn  string   `json:"expires_in"`
	Multiple   bool     `json:"multiple"`
	HideTotals bool     `json:"hide_totals"`
}

func (h *Handler) registerScheduled(v1 fiber.Router) {
	if h.Schedule == nil {
		return // POST /statuses with scheduled_at stays a 422
	}
	v1.Get("/scheduled_statuses", h.need("read:statuses"), h.scheduledStatuses)
	v1.Get("/scheduled_statuses/:id", h.need("read:statuses"), h.scheduledStatus)
	v1.Put("/scheduled_statuses/:id", h.need("write:statuses"), h.reschedule)
	v1.Delete("/scheduled_statuses/:id", h.need("write:statuses"), h.cancelScheduled)
}

// parseScheduledAt reads an ISO 8601 time as clients send it.
func parseScheduledAt(raw string) (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(raw))
	if err != nil {
		return time.Time{}, errs.E(errs.Invalid, "Validation failed: Scheduled at is not a valid ISO 8601 time")
	}
	return at, nil
}

// scheduleStatus is createStatus for a post with scheduled_at: settled
// like any post (defaults, media, poll, reply), then kept for later.
func (h *Handler) scheduleStatus(c *fiber.Ctx, me *federation.Account, d status.Draft, np *outbox.NewPost) error {
	at, err := parseScheduledAt(d.ScheduledAt)
	if err != nil {
		return err
	}
	d.ScheduledAt = ""
	composed, err := h.statuses().Compose(c.UserContext(), me, d)
	if err != nil {
		return err
	}
	if composed.Replay != 0 {
		return h.renderStatus(c, composed.Replay) // the key's request was posted already
	}
	p := federation.ScheduledParams{Text: np.Text, SpoilerText: np.Summary, Visibility: composed.Visibility,
		Sensitive: composed.Sensitive, Language: composed.Language, Idempotency: strings.TrimSpace(d.IdempotencyKey)}
	p.InReplyToID, _ = strconv.ParseInt(d.InReplyToID, 10, 64)
	for _, a := range np.Media {
		p.MediaIDs = append(p.MediaIDs, a.MediaID)
	}
	if np.Poll != nil {
		p.Poll = &federation.ScheduledPoll{Options: np.Poll.Options, ExpiresIn: int64(np.Poll.ExpiresIn / time.Second),
			Multiple: np.Poll.Multiple, HideTotals: np.Poll.HideTotals}
	}
	if tok := tokenOf(c); tok != nil {
		p.ApplicationID = tok.AppID
	}
	sc, err := h.Schedule.Schedule(c.UserContext(), me, at, p)
	if err != nil {
		return err
	}
	out, err := h.renderScheduled(c, me, []federation.ScheduledStatus{*sc})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

func (h *Handler) scheduledStatuses(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	list, err := h.Schedule.List(c.UserContext(), me, page(c, 20, 40))
	if err != nil {
		return err
	}
	out, err := h.renderScheduled(c, me, list)
	if err != nil {
		return err
	}
	cursors := make([]int64, len(list))
	for i, sc := range list {
		cursors[i] = sc.ID
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

// oneScheduled runs fn on one of the viewer's scheduled posts by :id.
func (h *Handler) oneScheduled(c *fiber.Ctx, fn func(me *federation.Account, id int64) (*federation.ScheduledStatus, error)) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sc, err := fn(me, id)
	if err != nil {
		return err
	}
	out, err := h.renderScheduled(c, me, []federation.ScheduledStatus{*sc})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

func (h *Handler) scheduledStatus(c *fiber.Ctx) error {
	return h.oneScheduled(c, func(me *federation.Account, id int64) (*federation.ScheduledStatus, error) {
		return h.Schedule.Get(c.UserContext(), me, id)
	})
}

// reschedule moves a scheduled post (only scheduled_at changes, as on
// Mastodon).
func (h *Handler) reschedule(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	at, err := parseScheduledAt(p.str("scheduled_at"))
	if err != nil {
		return err
	}
	return h.oneScheduled(c, func(me *federation.Account, id int64) (*federation.ScheduledStatus, error) {
		return h.Schedule.Reschedule(c.UserContext(), me, id, at)
	})
}

func (h *Handler) cancelScheduled(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Schedule.Cancel(c.UserContext(), me, id); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// renderScheduled renders me's scheduled posts with their reserved
// uploads, read in one query.
func (h *Handler) renderScheduled(c *fiber.Ctx, me *federation.Account, list []federation.ScheduledStatus) ([]ScheduledStatus, error) {
	media := map[int64]Attachment{}
	var ids []int64
	for _, sc := range list {
		ids = append(ids, sc.Params.MediaIDs...)
	}
	if len(ids) > 0 && h.Media != nil {
		as, err := h.Media.Store.MediaByIDs(c.UserContext(), me.ID, ids)
		if err != nil {
			return nil, err
		}
		base := h.renderer(c).linksFor(me.Domain).Base
		for _, a := range as {
			media[a.ID] = localAttachment(a.Federation(base))
		}
	}
	out := make([]ScheduledStatus, 0, len(list))
	for _, sc := range list {
		out = append(out, scheduledEntity(sc, media))
	}
	return out, nil
}

func scheduledEntity(sc federation.ScheduledStatus, media map[int64]Attachment) ScheduledStatus {
	p := sc.Params
	out := ScheduledStatus{ID: idStr(sc.ID), ScheduledAt: ts(sc.ScheduledAt), MediaAttachments: []Attachment{},
		Params: ScheduledParams{Text: p.Text, Sensitive: p.Sensitive, Visibility: string(p.Visibility),
			SpoilerText: strPtr(p.SpoilerText), Language: strPtr(p.Language), Idempotency: strPtr(p.Idempotency)}}
	if p.InReplyToID != 0 {
		out.Params.InReplyToID = strPtr(idStr(p.InReplyToID))
	}
	if p.ApplicationID != 0 {
		out.Params.ApplicationID = &p.ApplicationID
	}
	for _, id := range p.MediaIDs {
		out.Params.MediaIDs = append(out.Params.MediaIDs, idStr(id))
		if a, ok := media[id]; ok {
			out.MediaAttachments = append(out.MediaAttachments, a)
		}
	}
	if p.Poll != nil {
		out.Params.Poll = &ScheduledPoll{Options: p.Poll.Options, ExpiresIn: strconv.FormatInt(p.Poll.ExpiresIn, 10),
			Multiple: p.Poll.Multiple, HideTotals: p.Poll.HideTotals}
	}
	return out
}
