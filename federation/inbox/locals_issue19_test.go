package inbox

import (
	"context"
	"errors"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// failingSites is a host resolver whose database is away.
type failingSites struct{}

func (failingSites) Resolve(context.Context, string) (*tenant.Site, error) {
	return nil, errors.New("failed to connect: timeout")
}

// Soak finding 6: SiteLocals answered "not a local account" when the host
// lookup failed, so a follow of another tenant's account went out over
// WebFinger and was refused (422), and an inbox could take a local actor
// for nobody. A failure to tell stays a failure, not errs.NotFound.
func TestIssue19Finding6LocalsDatabaseFailureIsNotNotOurs(t *testing.T) {
	l := &SiteLocals{Sites: failingSites{}, Scheme: "https"}
	if _, err := l.ByHandle(context.Background(), "alice", "a.example"); err == nil || errs.CodeOf(err) == errs.NotFound {
		t.Errorf("ByHandle with the database away: %v; want a failure, not not-found", err)
	}
	if _, err := l.ByURI(context.Background(), 1, "https://a.example/users/alice"); err == nil || errs.CodeOf(err) == errs.NotFound {
		t.Errorf("ByURI with the database away: %v; want a failure, not not-found", err)
	}
}
