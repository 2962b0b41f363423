// Package actors dereferences remote ActivityPub actors: it fetches their
// documents through the safe client, caches them in the shared
// remote-actor store, finds the owner of a signing key, and bounds the
// fetches per remote host (budget.go). Both the inbox (verifying
// deliveries) and the outbox (resolving whom a local account addresses)
// use it, so neither depends on the other.
package actors

import (
	"context"
	"crypto"
	"net/url"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Keys finds the actor that owns a signing key: from the shared cache of
// remote actors, or by fetching the key's document through the safe client
// and, when that is not the whole actor (a GoToSocial stub, a standalone
// key), the owner it names. Fetches are bounded so that forged signatures
// naming keys on a victim host cannot turn us into a traffic amplifier
// (SECURITY 14) nor shut that host's genuine new actors out (issue 14,
// finding 5): see budget.go.
type Keys struct {
	Store federation.RemoteActorStore
	Fetch *fetch.Client
	// Sign, when set, signs key fetches (authorized fetch).
	Sign fetch.Signer
	// Ours, when set, reports this instance's hostnames: actors there are
	// local accounts, never fetched and cached as remote ones.
	Ours func(ctx context.Context, host string) bool
	Now  func() time.Time

	// FailureTTL is how long a key that could not be fetched is refused
	// without fetching again (default 10 minutes; at most a minute when
	// the host was unreachable or answered 5xx).
	FailureTTL time.Duration
	// RefreshEvery bounds refetches of a cached key whose signature failed
	// (default 10 minutes).
	RefreshEvery time.Duration
	// HostRate and HostBurst are each remote host's failure budget: key
	// fetches that fail (or whose key does not verify the request) spend
	// it; genuine keys do not (default one per 6 s, burst 10).
	HostRate  rate.Limit
	HostBurst int
	// TrialEvery paces the fetches of new keys of a host whose failure
	// budget is spent: one at a time, at most this often (default 1 s).
	TrialEvery time.Duration

	mu        sync.Mutex
	failed    map[string]time.Time // keyID → refused until
	refreshed map[string]time.Time // keyID → last refresh
	hosts     map[string]*hostBudget
	owners    map[string]cachedOwner      // keyID → owner, in front of the store
	pubs      map[string]crypto.PublicKey // publicKeyPem → parsed key
	loads     singleflight.Group          // store reads by keyID
	fetches   singleflight.Group          // key fetches by keyID
}

// cachedOwner is an owner remembered in process for ownerTTL; a signature
// failing with it still triggers Refresh, which replaces it.
type cachedOwner struct {
	actor   *federation.Account
	expires time.Time
}

const ownerTTL = 5 * time.Minute

// maxTracked bounds each bookkeeping map; past it the oldest-looking half
// is dropped (map order), which errs towards fetching again, not never.
const maxTracked = 50000

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Lookup returns the actor owning keyID, fetching it when not cached.
func (k *Keys) Lookup(ctx context.Context, keyID string) (*federation.Account, error) {
	a, _, err := k.lookup(ctx, keyID)
	return a, err
}

// Verify finds keyID's owner and checks a request's signature with it
// (check; either signature scheme: check decides), refetching the key once when the cached one fails (it may have
// rotated). A request whose freshly fetched key does not verify it is
// charged to the key host's failure budget, as a failed fetch is.
func (k *Keys) Verify(ctx context.Context, keyID string, check func(*federation.Account) error) (*federation.Account, error) {
	owner, fetched, err := k.lookup(ctx, keyID)
	if err != nil {
		return nil, err
	}
	if err = check(owner); err == nil {
		return owner, nil
	}
	if fetched { // just fetched: refetching cannot change the answer
		k.charge(ap.HostOf(keyID))
		return nil, err
	}
	if owner, err = k.Refresh(ctx, keyID); err != nil {
		return nil, err
	}
	if err = check(owner); err != nil {
		k.charge(ap.HostOf(keyID))
		return nil, err
	}
	return owner, nil
}

// lookup is Lookup, also reporting whether the owner was fetched for it.
func (k *Keys) lookup(ctx context.Context, keyID string) (*federation.Account, bool, error) {
	k.mu.Lock()
	k.init()
	c, ok := k.owners[keyID]
	k.mu.Unlock()
	if ok && k.now().Before(c.expires) {
		return c.actor, false, nil
	}
	a, err := k.load(ctx, keyID)
	fetched := false
	if errs.Is(err, errs.NotFound) {
		a, err = k.fetchShared(ctx, keyID)
		fetched = true
	}
	if err != nil {
		return nil, false, err
	}
	k.remember(keyID, a)
	return a, fetched, nil
}

// loadTimeout bounds a shared store read, which runs detached from the
// first caller's cancellation since others may be waiting on it.
const loadTimeout = 10 * time.Second

// load reads keyID's cached owner from the store, once for all concurrent
// callers: a burst of deliveries signed with one key (a busy peer, after a
// restart or once ownerTTL lapses) costs one query, not one query and one
// pool connection per request. A fetch, which depends on the caller's
// tenant, is never shared.
func (k *Keys) load(ctx context.Context, keyID string) (*federation.Account, error) {
	v, err, _ := k.loads.Do(keyID, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		return k.Store.RemoteActorByKeyID(lctx, keyID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*federation.Account), nil
}

// maxKeys bounds the parsed-key cache: the keys of the busiest senders,
// a few MB; past it the cache starts over.
const maxKeys = 4096

// PublicKey parses an owner's publicKeyPem, remembering the result: key
// parsing is a noticeable part of a delivery's cost, and the PEM text
// itself is the cache key, so a rotated key is simply a new entry.
func (k *Keys) PublicKey(pemText string) (crypto.PublicKey, error) {
	k.mu.Lock()
	pub, ok := k.pubs[pemText]
	k.mu.Unlock()
	if ok {
		return pub, nil
	}
	pub, err := signature.ParsePublicKeyPEM(pemText)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.init()
	if len(k.pubs) >= maxKeys {
		clear(k.pubs)
	}
	k.pubs[pemText] = pub
	k.mu.Unlock()
	return pub, nil
}

// remember caches a key's owner in process.
func (k *Keys) remember(keyID string, a *federation.Account) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	if len(k.owners) >= maxTracked {
		clear(k.owners)
	}
	k.owners[keyID] = cachedOwner{actor: a, expires: k.now().Add(ownerTTL)}
}

// Refresh refetches keyID's owner after a signature failed with the cached
// key (the key may have rotated, SECURITY 12). It returns errs.Unauthorized
// without fetching when the key was refreshed recently.
func (k *Keys) Refresh(ctx context.Context, keyID string) (*federation.Account, error) {
	k.mu.Lock()
	k.init()
	last, ok := k.refreshed[keyID]
	if ok && k.now().Sub(last) < k.refreshEvery() {
		k.mu.Unlock()
		return nil, errs.E(errs.Unauthorized, "signature does not verify with the sender's key")
	}
	track(k.refreshed, keyID, k.now())
	delete(k.owners, keyID)
	k.mu.Unlock()
	a, err := k.fetch(ctx, keyID)
	if err != nil {
		return nil, err
	}
	k.remember(keyID, a)
	return a, nil
}

func (k *Keys) init() {
	if k.failed == nil {
		k.failed = map[string]time.Time{}
		k.refreshed = map[string]time.Time{}
		k.hosts = map[string]*hostBudget{}
		k.owners = map[string]cachedOwner{}
		k.pubs = map[string]crypto.PublicKey{}
	}
}

func (k *Keys) refreshEvery() time.Duration {
	if k.RefreshEvery > 0 {
		return k.RefreshEvery
	}
	return 10 * time.Minute
}

// Actor returns the remote actor with this URI, from the cache or fetched
// (and cached) when missing or when refresh is set.
func (k *Keys) Actor(ctx context.Context, uri string, refresh bool) (*federation.Account, error) {
	if k.ours(ctx, uri) {
		return nil, errs.E(errs.Invalid, "%s is a local account, not a remote actor", uri)
	}
	if !refresh {
		if a, err := k.Store.RemoteActorByURI(ctx, uri); err == nil {
			return a, nil
		} else if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	doc, _, err := k.Fetch.GetActivity(ctx, uri, k.Sign)
	if err != nil {
		return nil, err
	}
	a, err := ap.ParseActor(doc, k.now())
	if err != nil {
		return nil, err
	}
	if a.Remote.URI != uri {
		return nil, errs.E(errs.Invalid, "the document at %s describes %s", uri, a.Remote.URI)
	}
	saved, err := k.Store.UpsertRemoteActor(ctx, a)
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// ours reports whether a URL is on one of this instance's hosts.
func (k *Keys) ours(ctx context.Context, uri string) bool {
	if k.Ours == nil {
		return false
	}
	u, err := url.Parse(uri)
	return err == nil && k.Ours(ctx, u.Hostname())
}
