package mastodon

import (
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// registerForYou mounts the "For you" ranked feed (docs/for-you.md) and
// its explanations.
func (h *Handler) registerForYou(v1 fiber.Router) {
	v1.Get("/timelines/for_you", h.need("read:statuses"), h.forYou)
	v1.Get("/timelines/for_you/explain", h.need("read:statuses"), h.forYouExplain)
}

// forYou renders the next page of the viewer's "For you" feed: the best
// ranked posts not served before, recorded as served. Its Link next page
// is simply the next ranked page (max_id is a position marker only, as
// served posts never come back); there is nothing "newer" in a ranked
// feed, so since_id and min_id (polling for new posts) get an empty page
// and consume nothing. Any route may call it (the built-in "For you" list).
func (h *Handler) forYou(c *fiber.Ctx) error {
	if h.ForYou == nil {
		return errNotFound
	}
	p := page(c, 20, 40)
	if p.SinceID > 0 || p.MinID > 0 {
		return c.JSON([]any{})
	}
	items, err := h.ForYou.ForYou(c.UserContext(), viewer(c), p.Limit)
	if err != nil {
		return err
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.StatusID
	}
	return h.statusPage(c, ids)
}

// ForYouExplanation is the answer of GET /api/v1/timelines/for_you/explain:
// a status's score and what it is made of (docs/for-you.md).
type ForYouExplanation struct {
	StatusID   string            `json:"status_id"`
	AccountID  string            `json:"account_id"`
	Served     bool              `json:"served"`
	ServedAt   *string           `json:"served_at"`
	Eligible   bool              `json:"eligible"`
	Reasons    []string          `json:"reasons"`
	Score      float64           `json:"score"`
	Components ForYouComponents  `json:"components"`
	Variety    ForYouVarietyRule `json:"variety"`
	Window     ForYouWindow      `json:"window"`
}

// ForYouComponents are the score's terms: value × weight = contribution.
type ForYouComponents struct {
	Affinity  ForYouAffinity  `json:"affinity"`
	Freshness ForYouFreshness `json:"freshness"`
	Noise     ForYouTerm      `json:"noise"`
}

// ForYouTerm is one term of the score.
type ForYouTerm struct {
	Value        float64 `json:"value"`
	Weight       float64 `json:"weight"`
	Contribution float64 `json:"contribution"`
}

// ForYouAffinity is the affinity term and the interactions behind it.
type ForYouAffinity struct {
	ForYouTerm
	Favourites      int64   `json:"favourites"`
	Boosts          int64   `json:"boosts"`
	Replies         int64   `json:"replies"`
	FavouriteWeight float64 `json:"favourite_weight"`
	BoostWeight     float64 `json:"boost_weight"`
	ReplyWeight     float64 `json:"reply_weight"`
	Days            int     `json:"days"`
}

// ForYouFreshness is the freshness term and the post's age.
type ForYouFreshness struct {
	ForYouTerm
	AgeHours      float64 `json:"age_hours"`
	HalfLifeHours float64 `json:"half_life_hours"`
}

// ForYouVarietyRule is the per-author cap of a page.
type ForYouVarietyRule struct {
	MaxAuthorShare     float64 `json:"max_author_share"`
	MaxPerAuthorPage20 int     `json:"max_per_author_in_a_page_of_20"`
	MaxPerAuthorPage40 int     `json:"max_per_author_in_a_page_of_40"`
}

// ForYouWindow is what is looked at.
type ForYouWindow struct {
	Hours        int `json:"hours"`
	Pool         int `json:"newest_home_feed_entries"`
	Closest      int `json:"closest_authors"`
	ClosestPosts int `json:"newest_posts_per_closest_author"`
}

func (h *Handler) forYouExplain(c *fiber.Ctx) error {
	if h.ForYou == nil {
		return errNotFound
	}
	id, err := strconv.ParseInt(c.Query("status_id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
	}
	e, err := h.ForYou.ExplainForYou(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	w := e.Weights
	term := func(v, weight float64) ForYouTerm {
		return ForYouTerm{Value: round4(v), Weight: weight, Contribution: round4(v * weight)}
	}
	out := ForYouExplanation{
		StatusID: idStr(e.StatusID), AccountID: idStr(e.AccountID), Served: e.Served,
		Eligible: e.Eligible, Reasons: e.Reasons, Score: round4(e.Score),
		Components: ForYouComponents{
			Affinity: ForYouAffinity{ForYouTerm: term(e.Affinity, w.Affinity), Favourites: e.Favourites,
				Boosts: e.Boosts, Replies: e.Replies, FavouriteWeight: w.Favourite, BoostWeight: w.Boost,
				ReplyWeight: w.Reply, Days: w.InteractionDays},
			Freshness: ForYouFreshness{ForYouTerm: term(e.Freshness, w.Freshness), AgeHours: round4(e.AgeHours),
				HalfLifeHours: w.HalfLifeHours},
			Noise: term(e.Noise, w.Noise),
		},
		Variety: ForYouVarietyRule{MaxAuthorShare: w.AuthorShare, MaxPerAuthorPage20: w.PerAuthor(20),
			MaxPerAuthorPage40: w.PerAuthor(40)},
		Window: ForYouWindow{Hours: w.WindowHours, Pool: w.Pool, Closest: w.Closest, ClosestPosts: w.ClosestPosts},
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if e.Served {
		out.ServedAt = strPtr(ts(e.ServedAt))
	}
	return c.JSON(out)
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }
