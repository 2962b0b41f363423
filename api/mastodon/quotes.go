package mastodon

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/federation/social/status"
)

// Quote posts as Mastodon 4.5 has them (docs.joinmastodon.org/client/quotes).

// QuoteEntity is Mastodon's Quote: a quote's state and, once accepted and
// visible, the quoted post.
type QuoteEntity struct {
	State        string  `json:"state"`
	QuotedStatus *Status `json:"quoted_status"`
}

// ShallowQuote is a quote inside a quoted post: its state and the quoted
// post's id only.
type ShallowQuote struct {
	State          string  `json:"state"`
	QuotedStatusID *string `json:"quoted_status_id"`
}

// QuoteApproval is who may quote a post and how its policy applies to
// the viewer.
type QuoteApproval struct {
	Automatic   []string `json:"automatic"`
	Manual      []string `json:"manual"`
	CurrentUser string   `json:"current_user"`
}

func (h *Handler) registerQuotes(v1 fiber.Router) {
	if h.Quotes == nil {
		return
	}
	v1.Get("/statuses/:id/quotes", h.need("read:statuses"), h.statusQuotes)
	v1.Post("/statuses/:id/quotes/:quoting_status_id/revoke", h.need("write:statuses"), h.revokeQuote)
	v1.Put("/statuses/:id/interaction_policy", h.need("write:statuses"), h.interactionPolicy)
}

// statusQuotes pages the posts quoting one of the viewer's own posts.
func (h *Handler) statusQuotes(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	return h.statusList(c, page(c, 20, 40), byOwnID(func(p federation.Page) ([]int64, error) {
		return h.Quotes.QuotesOf(c.UserContext(), me, id, p)
	}))
}

// revokeQuote withdraws a quote of one of the viewer's own posts and
// renders the quoting post.
func (h *Handler) revokeQuote(c *fiber.Ctx) error {
	return h.act(c, func(_ *status.Service, me *federation.Account, id int64) (int64, error) {
		quoting, err := pathID(c, "quoting_status_id")
		if err != nil {
			return 0, err
		}
		return h.Quotes.Revoke(c.UserContext(), me, id, quoting)
	})
}

// interactionPolicy sets who may quote one of the viewer's own posts.
func (h *Handler) interactionPolicy(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	return h.act(c, func(_ *status.Service, me *federation.Account, id int64) (int64, error) {
		return h.Quotes.SetPolicy(c.UserContext(), me, id, p.str("quote_approval_policy"))
	})
}

// quoteDraft settles a new post's quote (quoted_status_id: nil plan when
// none) and quote policy (quote_approval_policy, else the author's
// default source[quote_policy]) on np.
func (h *Handler) quoteDraft(c *fiber.Ctx, me *federation.Account, p params, np *outbox.NewPost) (*quote.Plan, error) {
	plan, err := h.quotePlan(c, me, p, np.Visibility)
	if err != nil {
		return nil, err
	}
	if plan != nil {
		np.Visibility = plan.Visibility
	}
	requested := p.str("quote_approval_policy")
	if requested == "" && h.Quotes != nil {
		if requested, err = h.quotePolicy(c); err != nil { // accountroutes.go
			return nil, err
		}
	}
	np.Quote, err = h.postQuote(me, plan, np.Visibility, requested)
	return plan, err
}

// quotePlan checks a new post's quoted_status_id; nil when it quotes
// nothing.
func (h *Handler) quotePlan(c *fiber.Ctx, me *federation.Account, p params, v federation.Visibility) (*quote.Plan, error) {
	raw := p.str("quoted_status_id")
	if raw == "" || h.Quotes == nil {
		return nil, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, errNotFound
	}
	return h.Quotes.Prepare(c.UserContext(), me, id, v)
}

// postQuote is what the new post says of quotes: the quoted post with its
// stamp when local, and who may quote the new post.
func (h *Handler) postQuote(me *federation.Account, plan *quote.Plan, v federation.Visibility, requested string) (outbox.PostQuote, error) {
	if h.Quotes == nil {
		return outbox.PostQuote{}, nil
	}
	policy, err := quote.PolicyFor(v, requested)
	if err != nil {
		return outbox.PostQuote{}, err
	}
	pq := outbox.PostQuote{Policy: policy}
	if plan != nil {
		pq.URI = plan.Quoted.URI
		pq.Stamp = func(ctx context.Context, quotingURI string) (string, error) {
			return h.Quotes.StampFor(ctx, plan, quotingURI, me.ID)
		}
	}
	return pq, nil
}

// posted records the new post's policy and quote.
func (h *Handler) posted(c *fiber.Ctx, me *federation.Account, st *federation.Status, plan *quote.Plan) error {
	if h.Quotes == nil {
		return nil
	}
	return h.Quotes.Posted(c.UserContext(), me, st, plan)
}

// addQuotes fills quotes_count, quote_approval and quote of rendered
// statuses (and of the posts they boost): a few queries per page, and one
// more rendering of the accepted quoted posts the viewer may see, whose
// own quotes are shallow.
func (r *renderer) addQuotes(out []*Status, views []*federation.StatusView, origs map[int64]*federation.StatusView) error {
	if len(out) == 0 {
		return nil
	}
	byID := map[string]*federation.StatusView{}
	var ids []int64
	for _, v := range append(views, mapValues(origs)...) {
		byID[idStr(v.ID)], ids = v, append(ids, v.ID)
	}
	var shown []*Status
	for _, s := range out {
		shown = append(shown, s)
		if s.Reblog != nil {
			shown = append(shown, s.Reblog)
		}
	}
	if r.h.Quotes == nil { // no quotes wired: the policy alone, as the post states it
		for _, s := range shown {
			if v := byID[s.ID]; v != nil {
				s.QuoteApproval = r.quoteApproval(v, false)
			}
		}
		return nil
	}
	store := r.h.Quotes.Quotes
	counts, err := store.QuotesCounts(r.ctx, ids)
	if err != nil {
		return err
	}
	quotes, err := store.QuotesOf(r.ctx, ids)
	if err != nil {
		return err
	}
	follows, err := r.followsForQuotes(views, origs)
	if err != nil {
		return err
	}
	quoted, err := r.quotedStatuses(quotes)
	if err != nil {
		return err
	}
	for _, s := range shown {
		v := byID[s.ID]
		if v == nil {
			continue
		}
		s.QuotesCount = counts[v.ID]
		s.QuoteApproval = r.quoteApproval(v, follows[v.AccountID])
		if q := quotes[v.ID]; q != nil {
			s.Quote = r.quoteEntity(q, quoted)
		}
	}
	return nil
}

func mapValues(m map[int64]*federation.StatusView) []*federation.StatusView {
	out := make([]*federation.StatusView, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// followsForQuotes reads whether the viewer follows the authors of posts
// only their followers may quote.
func (r *renderer) followsForQuotes(views []*federation.StatusView, origs map[int64]*federation.StatusView) (map[int64]bool, error) {
	follows := map[int64]bool{}
	if r.viewer <= 0 {
		return follows, nil
	}
	var authors []int64
	for _, v := range append(views, mapValues(origs)...) {
		if v.QuotePolicy == federation.QuoteFollowers && v.AccountID != r.viewer {
			authors = append(authors, v.AccountID)
		}
	}
	if len(authors) == 0 {
		return follows, nil
	}
	rels, err := r.h.Views.Relationships(r.ctx, r.viewer, authors)
	if err != nil {
		return nil, err
	}
	for _, rel := range rels {
		follows[rel.ID] = rel.Following
	}
	return follows, nil
}

// quotedStatuses renders the accepted quoted posts the viewer may see,
// by id; inside them, quotes are shallow.
func (r *renderer) quotedStatuses(quotes map[int64]*federation.Quote) (map[int64]*Status, error) {
	out := map[int64]*Status{}
	if r.quoted {
		return out, nil
	}
	var ids []int64
	for _, q := range quotes {
		if q.State == federation.QuoteAccepted && q.QuotedStatusID != 0 {
			ids = append(ids, q.QuotedStatusID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	views, err := r.h.Views.StatusViews(r.ctx, r.seer, ids)
	if err != nil {
		return nil, err
	}
	inner := *r
	inner.quoted, inner.extra = true, nil
	rendered, err := inner.statuses(views)
	if err != nil {
		return nil, err
	}
	for _, s := range rendered {
		id, _ := strconv.ParseInt(s.ID, 10, 64)
		out[id] = s
	}
	return out, nil
}

// quoteEntity renders a quote: a Quote at the top level, a ShallowQuote
// inside a quoted post.
func (r *renderer) quoteEntity(q *federation.Quote, quoted map[int64]*Status) any {
	state := string(q.State)
	if q.State == federation.QuoteAccepted && q.QuotedStatusID == 0 {
		state = "deleted"
	}
	if r.quoted {
		sq := ShallowQuote{State: state}
		if state == string(federation.QuoteAccepted) {
			sq.QuotedStatusID = idPtr(q.QuotedStatusID)
		}
		return sq
	}
	e := QuoteEntity{State: state}
	if state == string(federation.QuoteAccepted) {
		if e.QuotedStatus = quoted[q.QuotedStatusID]; e.QuotedStatus == nil {
			e.State = "unauthorized" // accepted, but not for this viewer's eyes
		}
	}
	return e
}

// quoteApproval renders who may quote v and whether the viewer may.
func (r *renderer) quoteApproval(v *federation.StatusView, follows bool) *QuoteApproval {
	auto, manual := quote.Lists(v.Status)
	qa := &QuoteApproval{Automatic: auto, Manual: manual, CurrentUser: string(quote.Unknown)}
	if r.viewer > 0 {
		qa.CurrentUser = string(quote.Decide(v.Status, r.viewer, follows))
	}
	return qa
}
