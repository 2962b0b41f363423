// Package cached puts a web node's in-process caches (internal/hotcache)
// in front of the stores' hottest reads: the ports stay the same, so a
// handler cannot tell a cached answer from a fresh one. Entries are
// dropped when the database announces a change (migration 046,
// federation/postgres.CacheChanges).
package cached

import (
	"context"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/hotcache"
)

// AccountsSize and AccountsTTL bound the local-accounts cache: entries
// are small (a few KB with keys), and the TTL is only a backstop behind
// the database's announcements.
const (
	AccountsSize = 10_000
	AccountsTTL  = 5 * time.Minute
)

// Accounts answers AccountByUsername (WebFinger, actors, profile pages)
// from memory; every other method goes to the store.
type Accounts struct {
	federation.AccountStore
	byName *hotcache.Cache[nameKey, *federation.Account]
}

// nameKey is where an account is looked up: tenant, domain and the
// lowercased username (names match case-insensitively).
type nameKey struct {
	tenant   int64
	domain   string
	username string
}

// NewAccounts caches store's local accounts by name in set.
func NewAccounts(set *hotcache.Set, store federation.AccountStore) *Accounts {
	return &Accounts{AccountStore: store, byName: hotcache.New[nameKey, *federation.Account](set, "accounts_by_name", AccountsSize, AccountsTTL)}
}

// AccountByUsername returns the tenant's (not suspended) account, from
// memory when it was read before and has not changed since. A miss (an
// unknown or suspended name) is not kept. The caller gets its own copy of
// the account's fields.
func (a *Accounts) AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error) {
	// The key outlives the request: it is cloned, because a handler's
	// username is fiber's view of the request buffer (c.Params), which the
	// next request on that connection overwrites. A key whose bytes change
	// under the map is found under the new name once the map grows and
	// rehashes: one account's document served for another's, whose key
	// then never verifies (issue 19, finding 9).
	k := nameKey{tenant: tenantID, domain: strings.Clone(domain), username: strings.Clone(strings.ToLower(username))}
	acct, err := a.byName.Load(ctx, k, func(ctx context.Context) (*federation.Account, []hotcache.Tag, error) {
		acct, err := a.AccountStore.AccountByUsername(ctx, tenantID, domain, username)
		if err != nil {
			return nil, nil, err
		}
		// The tenant tag too: a tenant-wide change (its status, a
		// domain) drops its accounts.
		return acct, []hotcache.Tag{{Kind: hotcache.Account, ID: acct.ID}, {Kind: hotcache.Tenant, ID: tenantID}}, nil
	})
	if err != nil {
		return nil, err
	}
	cp := *acct
	return &cp, nil
}
