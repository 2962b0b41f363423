package cached

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/hotcache"
)

// nameStore is an AccountStore that knows accounts by name only.
type nameStore struct {
	federation.AccountStore
}

func (nameStore) AccountByUsername(_ context.Context, tenantID int64, domain, username string) (*federation.Account, error) {
	if username == "" {
		return nil, errs.E(errs.NotFound, "no such account")
	}
	return &federation.Account{ID: tenantID, Domain: domain, Username: strings.Clone(username)}, nil // as a database row: its own bytes
}

// Issue 19, finding 9 (seed 8149290891207534082): a web node served
// u1@t4's actor document at /users/u2, always, so the remote that fetched
// u2's key to check a Follow got a key that did not verify and refused
// the Follow with 401 for ten minutes (its negative cache of keys). The
// name the cache keyed on was fiber's view of the request's buffer
// (c.Params): the next request overwrote its bytes, and once the map
// grew and rehashed, u1's entry sat under the name "u2". The cache must
// keep its own copy of the name it is given.
func TestIssue19Finding9AccountCacheKeyOutlivesRequestBuffer(t *testing.T) {
	set := hotcache.NewSet(nil)
	set.SetOnline(true)
	a := NewAccounts(set, nameStore{})
	ctx := context.Background()

	buf := []byte("u1") // the request buffer fiber hands out views of
	name := unsafe.String(&buf[0], len(buf))
	if got, err := a.AccountByUsername(ctx, 4, "t4.soak.test", name); err != nil || got.Username != "u1" {
		t.Fatalf("first lookup: %v %v", got, err)
	}
	copy(buf, "u2")      // the next request on the connection reuses the buffer
	for i := range 200 { // other names: the map grows and rehashes its keys
		if _, err := a.AccountByUsername(ctx, 4, "t4.soak.test", fmt.Sprintf("x%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"u2", "u1"} {
		got, err := a.AccountByUsername(ctx, 4, "t4.soak.test", want)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != want {
			t.Fatalf("/users/%s answered %s's account", want, got.Username)
		}
	}
}
