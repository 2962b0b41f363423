package outbox

import (
	"context"
	"errors"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// downStatuses is a Store whose database is away when reading a post.
type downStatuses struct{ Store }

func (downStatuses) StatusByURI(context.Context, string) (*federation.Status, error) {
	return nil, errors.New("failed to connect: timeout")
}

// sameLinks is a Locals that gives every account its links without a
// database.
type sameLinks struct{ federation.Locals }

func (sameLinks) Links(context.Context, *federation.Account) (federation.Links, error) {
	return federation.Links{}, nil
}

// Soak finding 12 (seed 2308134012319177232): during a PostgreSQL
// restart an app's DELETE of its own post was answered 404 "no such post
// of this account", which apps take for "already gone" and do not retry;
// the post stayed. Editing, deleting and quoting one's own post read the
// post the same way, and each took any failure to read it for "not
// yours". The failure now passes as it is (a 5xx the app retries); only
// a missing post or another account's is 404.
func TestIssue19Finding12OwnPostDatabaseFailureIsNot404(t *testing.T) {
	s := &Service{Store: downStatuses{}, Locals: sameLinks{}}
	me := &federation.Account{ID: 1, Username: "alice", Domain: "a.example"}
	ctx := context.Background()
	for name, act := range map[string]func() error{
		"edit":   func() error { return s.Edit(ctx, me, "https://a.example/users/alice/statuses/1", "new text") },
		"delete": func() error { return s.Delete(ctx, me, "https://a.example/users/alice/statuses/1") },
	} {
		if err := act(); err == nil || errs.CodeOf(err) == errs.NotFound {
			t.Errorf("%s with the database away: %v; want the failure itself, not 404", name, err)
		}
	}
}
