package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/internal/errs"
)

// The receiving side's budget tests (forged keys, negative cache, GoToSocial
// stubs) run through inbox.Service.Receive in federation/inbox; these are
// the dereferencing rules alone, on a fake cache and no network: Fetch is
// nil, so any fetch would panic.

// actorCache is an in-memory federation.RemoteActorStore.
type actorCache struct {
	byURI, byKey map[string]*federation.Account
	reads        int
}

func (c *actorCache) UpsertRemoteActor(_ context.Context, a *federation.Account) (*federation.Account, error) {
	c.byURI[a.Remote.URI], c.byKey[a.Remote.KeyID] = a, a
	return a, nil
}

func (c *actorCache) RemoteActorByKeyID(_ context.Context, keyID string) (*federation.Account, error) {
	c.reads++
	if a, ok := c.byKey[keyID]; ok {
		return a, nil
	}
	return nil, errs.E(errs.NotFound, "no such key")
}

func (c *actorCache) RemoteActorByURI(_ context.Context, uri string) (*federation.Account, error) {
	c.reads++
	if a, ok := c.byURI[uri]; ok {
		return a, nil
	}
	return nil, errs.E(errs.NotFound, "no such actor")
}

func newCache() *actorCache {
	c := &actorCache{byURI: map[string]*federation.Account{}, byKey: map[string]*federation.Account{}}
	a := &federation.Account{ID: 7, Domain: "remote.test", Username: "ann",
		Remote: &federation.RemoteInfo{URI: "https://remote.test/users/ann", KeyID: "https://remote.test/users/ann#main-key"}}
	c.byURI[a.Remote.URI], c.byKey[a.Remote.KeyID] = a, a
	return c
}

// A cached actor is served from the cache, by URI and by key, and a key's
// owner is remembered in process: the second lookup reads nothing.
func TestIssue15Finding4ActorsServedFromCache(t *testing.T) {
	t.Parallel()
	c := newCache()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	k := &actors.Keys{Store: c, Now: func() time.Time { return now }}
	ctx := context.Background()
	if a, err := k.Actor(ctx, "https://remote.test/users/ann", false); err != nil || a.ID != 7 {
		t.Fatalf("Actor: %v, %v", a, err)
	}
	for i := range 2 {
		if a, err := k.Lookup(ctx, "https://remote.test/users/ann#main-key"); err != nil || a.ID != 7 {
			t.Fatalf("Lookup %d: %v, %v", i, a, err)
		}
	}
	if c.reads != 2 {
		t.Fatalf("%d cache reads, want 2 (the actor, the key once)", c.reads)
	}
}

// An actor on one of this instance's hosts is a local account: never
// fetched, never cached as a remote actor.
func TestIssue15Finding4LocalActorsAreNotDereferenced(t *testing.T) {
	t.Parallel()
	c := newCache()
	k := &actors.Keys{Store: c, Ours: func(_ context.Context, host string) bool { return host == "ours.test" }}
	_, err := k.Actor(context.Background(), "https://ours.test/users/bob", true)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("a local actor: %v, want invalid", err)
	}
	if c.reads != 0 || len(c.byURI) != 1 {
		t.Fatalf("the cache was touched: %d reads, %d actors", c.reads, len(c.byURI))
	}
}
