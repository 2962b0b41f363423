package mastodon

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/errs"
)

// registerPolls mounts docs.joinmastodon.org/methods/polls. A poll's id is
// its status's.
func (h *Handler) registerPolls(v1 fiber.Router) {
	v1.Get("/polls/:id", h.optional("read:statuses"), h.getPoll)
	v1.Post("/polls/:id/votes", h.need("write:statuses"), h.votePoll)
}

// pollStatus loads a status with a poll that the viewer may see.
func (h *Handler) pollStatus(c *fiber.Ctx) (*federation.StatusView, error) {
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return nil, err
	}
	if v.Poll == nil {
		return nil, errNotFound
	}
	return v, nil
}

func (h *Handler) getPoll(c *fiber.Ctx) error {
	v, err := h.pollStatus(c)
	if err != nil {
		return err
	}
	return c.JSON(h.renderer(c).poll(v))
}

// votePoll votes with choices[] (option indexes): once per account, not
// on one's own poll, not after the end.
func (h *Handler) votePoll(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	v, err := h.pollStatus(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	var choices []int
	for _, s := range p.list("choices") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return errs.E(errs.Invalid, "choices must be option indexes")
		}
		choices = append(choices, n)
	}
	if err := h.Outbox.Vote(c.UserContext(), me, v.URI, choices); err != nil {
		return err
	}
	if v, err = h.pollStatus(c); err != nil {
		return err
	}
	return c.JSON(h.renderer(c).poll(v))
}

// poll renders a status's poll for the viewer: with whether they voted
// (an author counts as having voted) and what they chose; option counts
// hidden from others until the end when the author asked so.
func (r *renderer) poll(v *federation.StatusView) *Poll {
	p := renderPoll(v)
	if v.TenantID != 0 {
		n := v.Poll.Voters // kept exactly for local polls
		p.VotersCount = &n
	}
	if v.Poll.HideTotals && !p.Expired && v.AccountID != r.viewer {
		for i := range p.Options {
			p.Options[i].VotesCount = nil
		}
	}
	if r.viewer == 0 {
		return p
	}
	own := []int{}
	if r.h.Polls != nil {
		if votes, err := r.h.Polls.OwnVotes(r.ctx, r.viewer, []int64{v.ID}); err == nil && votes[v.ID] != nil {
			own = votes[v.ID]
		}
	}
	p.Voted = boolPtr(len(own) > 0 || v.AccountID == r.viewer)
	p.OwnVotes = &own
	return p
}

// pollParams reads poll[options][], poll[expires_in] (seconds),
// poll[multiple] and poll[hide_totals]; nil when there is no poll.
func pollParams(p params) (*outbox.NewPoll, error) {
	o := p.object("poll")
	if o == nil {
		return nil, nil
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(o.str("expires_in")), 10, 64)
	if err != nil {
		return nil, errs.E(errs.Invalid, "poll[expires_in] must be a number of seconds")
	}
	np := &outbox.NewPoll{Options: o.list("options"), ExpiresIn: time.Duration(min(max(secs, 0), 1<<32)) * time.Second}
	np.Multiple, _ = o.boolean("multiple")
	np.HideTotals, _ = o.boolean("hide_totals")
	return np, nil
}
