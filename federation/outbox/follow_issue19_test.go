package outbox

import (
	"context"
	"errors"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// downLocals is a Locals whose database is away.
type downLocals struct{ federation.Locals }

func (downLocals) ByHandle(context.Context, string, string) (*federation.Account, error) {
	return nil, errors.New("failed to connect: timeout")
}

// Soak finding 6 (seeds 709695347223938606, 6200840780907649189): with
// the database overloaded, following another tenant's account took the
// failed local lookup for "a remote account", looked it up over
// WebFinger and was refused (422 "is a local account"): the app does not
// retry a 4xx. The failure is returned as it is (a 5xx the app retries);
// nothing goes to the network (Fetch is nil here: a lookup would panic).
func TestIssue19Finding6FollowDatabaseFailureIsNotRemote(t *testing.T) {
	s := &Service{Locals: downLocals{}}
	me := &federation.Account{ID: 1, Username: "alice", Domain: "a.example"}
	for _, target := range []string{"bob@b.example", "http://b.example/users/bob"} {
		_, err := s.Follow(context.Background(), me, target)
		if err == nil || errs.CodeOf(err) != errs.Internal {
			t.Errorf("follow %s with the database away: %v; want the failure itself", target, err)
		}
	}
}
