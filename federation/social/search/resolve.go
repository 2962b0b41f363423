package search

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// exactAccount is the account a handle names (0: none): a local one, or
// with Resolve a remote one looked up now through WebFinger. The client
// only learns "no match" when that lookup fails, as on Mastodon, so the
// failure is logged with the host and the reason: otherwise an operator
// has nothing to go on (a peer down, a TLS error, a refused signature).
func (s *Service) exactAccount(ctx context.Context, q Query, user, host string) (int64, error) {
	a, err := s.known(ctx, user, host)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		// The database away is not "nobody": looked up on the network, a
		// local account of another tenant was refused (soak finding 6).
		return 0, err
	}
	ours, oerr := s.ours(ctx, host)
	if oerr != nil {
		return 0, oerr
	}
	if !q.Resolve || (err == nil && a.Remote == nil) || ours {
		if err != nil {
			return 0, nil
		}
		return a.ID, nil
	}
	found, rerr := s.Network.Resolve(federation.WithActingHost(ctx, q.Site.ActorHost()), user+"@"+host)
	if rerr != nil {
		q.Log.WarnContext(ctx, "search: account not resolved", "acct", user+"@"+host, "host", strings.ToLower(host), "err", rerr)
		if err == nil {
			return a.ID, nil // the copy we already knew
		}
		return 0, nil
	}
	s.refreshCollections(ctx, q, found)
	return found.ID, nil
}

// refreshCollections reads a resolved remote account's counts and recent
// posts, at most once per interval; the answer does not wait on a
// failure.
func (s *Service) refreshCollections(ctx context.Context, q Query, a *federation.Account) {
	if s.Collections == nil || a == nil || a.Remote == nil {
		return
	}
	// Signed as the searcher's site, as the lookup was.
	if err := s.Collections.RefreshCollections(federation.WithActingHost(ctx, q.Site.ActorHost()), a); err != nil {
		q.Log.WarnContext(ctx, "search: collections not read", "actor", a.Remote.URI, "err", err)
	}
}

// known finds user@host among the local accounts of every tenant here,
// then the remote accounts already fetched.
func (s *Service) known(ctx context.Context, user, host string) (*federation.Account, error) {
	if norm, err := tenant.NormalizeHost(host); err == nil {
		site, err := s.Sites.Resolve(ctx, norm)
		if err == nil {
			return s.Store.AccountByUsername(ctx, site.TenantID, site.Domain, user)
		}
		if errs.CodeOf(err) != errs.NotFound {
			return nil, err
		}
	}
	return s.Network.Known(ctx, user+"@"+host)
}

// ours reports whether host is a domain of this instance (any tenant); an
// error is a failure to tell.
func (s *Service) ours(ctx context.Context, host string) (bool, error) {
	norm, err := tenant.NormalizeHost(host)
	if err != nil {
		return false, nil
	}
	_, err = s.Sites.Resolve(ctx, norm)
	if errs.CodeOf(err) == errs.NotFound {
		return false, nil
	}
	return err == nil, err
}

// resolveURL finds the account or status a URL names: one of this
// instance's (on any tenant), or a remote one we know, or (Resolve) one
// fetched now. Nothing found is no result, not an error.
func (s *Service) resolveURL(ctx context.Context, q Query) (accountID, statusID int64) {
	raw := q.Text
	u, perr := url.Parse(raw)
	if perr != nil || u.Host == "" {
		return 0, 0
	}
	if host, err := tenant.NormalizeHost(u.Host); err == nil {
		if site, err := s.Sites.Resolve(ctx, host); err == nil {
			return s.localURL(ctx, site, u.Path)
		}
	}
	if a, err := s.Store.RemoteActorByURI(ctx, raw); err == nil {
		return a.ID, 0
	}
	if st, err := s.Store.StatusByURI(ctx, raw); err == nil {
		return 0, st.ID
	}
	if !q.Resolve {
		return 0, 0
	}
	a, st, err := s.Network.ResolveURL(federation.WithActingHost(ctx, q.Site.ActorHost()), raw)
	if err != nil {
		q.Log.WarnContext(ctx, "search: URL not resolved", "url", raw, "host", strings.ToLower(u.Hostname()), "err", err)
		return 0, 0
	}
	if a != nil {
		s.refreshCollections(ctx, q, a)
		return a.ID, 0
	}
	return 0, st.ID
}

// localURL reads a local profile or post URL: /@name, /users/name,
// /@name/ID, /users/name/statuses/ID. A post must be by the account the
// URL names.
func (s *Service) localURL(ctx context.Context, site *tenant.Site, path string) (int64, int64) {
	user, status, ok := splitLocalPath(path)
	if !ok {
		return 0, 0
	}
	a, err := s.Store.AccountByUsername(ctx, site.TenantID, site.Domain, user)
	if err != nil {
		return 0, 0
	}
	if status == "" {
		return a.ID, 0
	}
	id, err := strconv.ParseInt(status, 10, 64)
	if err != nil {
		return 0, 0
	}
	st, err := s.Store.StatusByID(ctx, id)
	if err != nil || st.AccountID != a.ID {
		return 0, 0
	}
	return 0, st.ID
}

// splitLocalPath reads the user and (maybe) status id of a local URL path.
func splitLocalPath(path string) (user, status string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 1 && strings.HasPrefix(parts[0], "@"):
		user = strings.TrimPrefix(parts[0], "@")
		if len(parts) == 2 {
			status = parts[1]
		} else if len(parts) > 2 {
			return "", "", false
		}
	case len(parts) >= 2 && parts[0] == "users":
		user = parts[1]
		if len(parts) == 4 && parts[2] == "statuses" {
			status = parts[3]
		} else if len(parts) != 2 {
			return "", "", false
		}
	default:
		return "", "", false
	}
	return user, status, true
}
