package federation

import (
	"context"
	"time"
)

// "For you" is a ranked feed built from the viewer's own home feed (the
// accounts they follow): recent posts scored by the viewer's interactions
// with each author, freshness and a little deterministic noise, with a
// bounded share of any page per author, and never a post served before.
// docs/for-you.md explains the formula; ForYouWeights are its constants.

// ForYouWeights are the ranking's constants.
type ForYouWeights struct {
	// Affinity, Freshness and Noise weigh the score's three components:
	// score = Affinity·affinity + Freshness·freshness + Noise·noise.
	Affinity, Freshness, Noise float64
	// Favourite, Boost and Reply weigh the viewer's interactions towards
	// an author: affinity = ln(1 + Favourite·favs + Boost·boosts + Reply·replies).
	Favourite, Boost, Reply float64
	// InteractionDays is how far back interactions count.
	InteractionDays int
	// HalfLifeHours halves freshness: freshness = 0.5^(age/HalfLifeHours).
	HalfLifeHours float64
	// WindowHours is how old a post may be to be a candidate. Pool is how
	// many of the newest home feed entries not served yet are looked at,
	// and with them the newest ClosestPosts posts of each of the Closest
	// authors the viewer interacts with most.
	WindowHours           int
	Pool                  int
	Closest, ClosestPosts int
	// AuthorShare caps one author's share of a page: at most
	// max(1, floor(limit·AuthorShare)) posts each.
	AuthorShare float64
}

// DefaultForYou are the weights Roost ranks with.
var DefaultForYou = ForYouWeights{
	Affinity: 1, Freshness: 1.5, Noise: 0.3,
	Favourite: 1, Boost: 2, Reply: 3, InteractionDays: 90,
	HalfLifeHours: 12, WindowHours: 72, Pool: 500, Closest: 20, ClosestPosts: 10,
	AuthorShare: 0.2,
}

// PerAuthor is how many posts of one author a page of limit may hold.
func (w ForYouWeights) PerAuthor(limit int) int {
	return max(1, int(float64(limit)*w.AuthorShare))
}

// ForYouScore is one status's score and what it is made of.
type ForYouScore struct {
	Score     float64
	Affinity  float64 // ln(1 + weighted interactions)
	Freshness float64 // 0.5^(age/half-life), in (0, 1]
	Noise     float64 // in [0, 1): a hash of viewer, status and UTC day
	// The interactions behind Affinity: the viewer's favourites of the
	// author's posts, boosts of them and replies to the author.
	Favourites, Boosts, Replies int64
	AgeHours                    float64
}

// ForYouItem is a ranked status.
type ForYouItem struct {
	StatusID  int64
	AccountID int64
	ForYouScore
}

// ForYouExplanation says why a status is (or is not) in the viewer's
// "For you" feed.
type ForYouExplanation struct {
	StatusID  int64
	AccountID int64
	// Served is true when the status was served to the viewer; ServedAt
	// and Score are then as they were at that moment.
	Served   bool
	ServedAt time.Time
	// Eligible says whether the status could be served now; Reasons list
	// what rules it out.
	Eligible bool
	Reasons  []string
	ForYouScore
	Weights ForYouWeights
}

// ForYouStore ranks and explains the "For you" feed.
type ForYouStore interface {
	// ForYou ranks the viewer's eligible candidates, records the page it
	// returns as served (so it is never served again) and returns it, best
	// first: at most limit statuses, a short page when variety runs out.
	ForYou(ctx context.Context, accountID int64, limit int) ([]ForYouItem, error)
	// ExplainForYou explains one status the viewer may see: the score it
	// was served with, or the one it would get now and what rules it out;
	// errs.NotFound when the viewer may not see it.
	ExplainForYou(ctx context.Context, accountID, statusID int64) (*ForYouExplanation, error)
}
