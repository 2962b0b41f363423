package search

import (
	"context"
	"errors"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// downSites is a host resolver whose database is away.
type downSites struct{}

func (downSites) Resolve(context.Context, string) (*tenant.Site, error) {
	return nil, errors.New("failed to connect: timeout")
}

// Soak finding 6 (seeds 709695347223938606, 6200840780907649189): with the
// database overloaded, the search for another tenant's local account took
// the failed host lookup for "not ours" and looked the handle up over
// WebFinger, where a local account is refused: the app was told nobody has
// that name. A failure to tell is an error (a 5xx the app retries), and
// nothing goes to the network.
func TestIssue19Finding6SearchDatabaseFailureIsNotNobody(t *testing.T) {
	s, _, nw := newService()
	s.Sites = downSites{}
	q := query("@alice@a.example", 1)
	q.Resolve = true
	_, err := s.Search(context.Background(), q)
	if err == nil || errs.CodeOf(err) == errs.NotFound {
		t.Fatalf("search with the database away: %v; want a failure, not nobody", err)
	}
	if nw.calls != 0 {
		t.Fatalf("%d network lookups for an account that may be local", nw.calls)
	}
}
