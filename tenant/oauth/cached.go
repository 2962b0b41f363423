package oauth

import (
	"context"
	"time"

	"github.com/roost-social/roost/internal/hotcache"
)

// TokensSize and TokensTTL bound a web node's cache of access tokens: one
// entry per token in use (a few hundred bytes). The TTL is a backstop;
// revocation reaches every node through the database's announcement
// (migration 046).
const (
	TokensSize = 50_000
	TokensTTL  = 5 * time.Minute
)

// CachedStore answers TokenByHash — the lookup behind every API request —
// from memory; every other method goes to the Store. A token revoked,
// deleted (its app or account gone) or used (its last use recorded) is
// dropped on every node when the database announces it.
type CachedStore struct {
	Store
	tokens *hotcache.Cache[tokenKey, *StoredToken]
}

type tokenKey struct {
	tenant int64
	hash   [32]byte
}

// NewCachedStore caches store's live tokens in set.
func NewCachedStore(set *hotcache.Set, store Store) *CachedStore {
	return &CachedStore{Store: store, tokens: hotcache.New[tokenKey, *StoredToken](set, "oauth_tokens", TokensSize, TokensTTL)}
}

// TokenByHash returns the tenant's live token; unknown and revoked tokens
// are not kept (each such request asks the Store). The caller gets its
// own copy.
func (s *CachedStore) TokenByHash(ctx context.Context, tenantID int64, tokenHash []byte) (*StoredToken, error) {
	if len(tokenHash) != 32 {
		return s.Store.TokenByHash(ctx, tenantID, tokenHash)
	}
	k := tokenKey{tenant: tenantID, hash: [32]byte(tokenHash)}
	st, err := s.tokens.Load(ctx, k, func(ctx context.Context) (*StoredToken, []hotcache.Tag, error) {
		st, err := s.Store.TokenByHash(ctx, tenantID, tokenHash)
		if err != nil {
			return nil, nil, err
		}
		tags := []hotcache.Tag{{Kind: hotcache.Token, ID: st.ID}, {Kind: hotcache.Tenant, ID: tenantID}}
		if st.AccountID != 0 {
			tags = append(tags, hotcache.Tag{Kind: hotcache.Account, ID: st.AccountID})
		}
		return st, tags, nil
	})
	if err != nil {
		return nil, err
	}
	cp := *st
	return &cp, nil
}

// RevokeToken revokes through the Store, then forgets the token on this
// node at once: the client that revoked it may use it again here before
// the database's announcement arrives.
func (s *CachedStore) RevokeToken(ctx context.Context, tenantID, appID int64, tokenHash []byte) error {
	err := s.Store.RevokeToken(ctx, tenantID, appID, tokenHash)
	if len(tokenHash) == 32 {
		s.tokens.Delete(tokenKey{tenant: tenantID, hash: [32]byte(tokenHash)})
	}
	return err
}
