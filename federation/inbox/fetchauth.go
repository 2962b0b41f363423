package inbox

import (
	"context"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// VerifyFetch checks a signed GET for authorized fetch (issue 16) through
// the same path as an inbox POST (signature.Check, the key's owner, then
// Verify), minus what only a delivery has: no body, so no Digest, and no
// activity whose actor the key must match. It returns the signer.
// Unsigned or badly signed requests are errs.Unauthorized; a signer on a
// domain suspended instance-wide or by in.TenantID is errs.Forbidden, and
// is refused before its key is fetched.
func (s *Service) VerifyFetch(ctx context.Context, in federation.InboxRequest) (*federation.Account, error) {
	in.Body = nil
	r, err := httpRequest(in)
	if err != nil {
		return nil, err
	}
	params, err := signature.Check(r, nil, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.refuseSuspended(in.TenantID, ap.HostOf(params.KeyID)); err != nil {
		return nil, err
	}
	if in.ActorHost != "" {
		// The key fetch is signed as the site's instance actor, which is
		// public: a peer that fetches it back does not loop.
		ctx = federation.WithActingHost(ctx, in.ActorHost)
	}
	owner, err := s.verify(ctx, r, params)
	if err != nil {
		return nil, err
	}
	if owner.Remote == nil {
		return nil, errs.E(errs.Unauthorized, "the signing key does not belong to a remote actor")
	}
	if err := s.refuseSuspended(in.TenantID, ap.HostOf(owner.Remote.URI)); err != nil {
		return nil, err
	}
	return owner, nil
}

// refuseSuspended is errs.Forbidden when host is suspended for tenantID.
func (s *Service) refuseSuspended(tenantID int64, host string) error {
	if host == "" {
		return errs.E(errs.Unauthorized, "the signing key is not an absolute URL")
	}
	if s.Blocks != nil && s.Blocks.Check(tenantID, host).Suspend {
		return errs.E(errs.Forbidden, "%s is suspended by this server", hostname(host))
	}
	return nil
}
