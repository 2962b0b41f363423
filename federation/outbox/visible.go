package outbox

import (
	"context"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// errNoStatus answers for a status that does not exist and for one the
// acting account may not see, alike, as the client API does: anything
// else would tell that a hidden post exists (issue 14, finding 3).
var errNoStatus = errs.E(errs.NotFound, "Record not found")

// seenStatus finds the status at uri that local may see. Every action
// that links local to someone's post (like, boost, reply, vote) starts
// here; the store checks again in the write's own transaction.
func (s *Service) seenStatus(ctx context.Context, local *federation.Account, uri string) (*federation.Status, error) {
	st, err := s.Store.StatusByURI(ctx, uri)
	if errs.Is(err, errs.NotFound) {
		return nil, errNoStatus
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.Store.CanSee(ctx, local.ID, st.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoStatus
	}
	return st, nil
}
