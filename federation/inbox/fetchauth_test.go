package inbox_test

import (
	"context"
	"crypto/rsa"
	"net/http"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// signedGet is a GET of target on host, signed with keyID (key nil: not
// signed), as a peer fetching a document under authorized fetch sends it.
func (f *fixture) signedGet(t *testing.T, host, target, keyID string, key *rsa.PrivateKey) federation.InboxRequest {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "https://"+host+target, nil)
	r.Header.Set("Accept", "application/activity+json")
	if key != nil {
		if err := signature.Sign(r, nil, keyID, key, f.now); err != nil {
			t.Fatal(err)
		}
	}
	return federation.InboxRequest{Method: http.MethodGet, Target: target, Host: host, Header: r.Header, TenantID: 1, Domain: host}
}

// TestIssue16AuthorizedFetchVerifyFetch: a signed GET is verified by the
// inbox's own path and names its signer; unsigned, badly signed and
// suspended signers are refused, the last before any key is fetched.
func TestIssue16AuthorizedFetchVerifyFetch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Blocks = domainblock.NewPolicy([]domainblock.Block{{Domain: "victim.test", Severity: domainblock.Suspend}})
	ctx := context.Background()
	owner, err := f.svc.VerifyFetch(ctx, f.signedGet(t, "a.example", "/users/alice", eve+"#main-key", keyA))
	if err != nil || owner.Remote == nil || owner.Remote.URI != eve {
		t.Fatalf("signed GET: owner %+v, err %v", owner, err)
	}
	_, err = f.svc.VerifyFetch(ctx, f.signedGet(t, "a.example", "/users/alice", "", nil))
	wantCode(t, err, errs.Unauthorized)
	_, err = f.svc.VerifyFetch(ctx, f.signedGet(t, "a.example", "/users/alice", eve+"#main-key", keyB))
	wantCode(t, err, errs.Unauthorized)
	// Signed for another path: (request-target) binds it.
	r := f.signedGet(t, "a.example", "/users/alice", eve+"#main-key", keyA)
	r.Target = "/users/alice/followers"
	_, err = f.svc.VerifyFetch(ctx, r)
	wantCode(t, err, errs.Unauthorized)
	before := f.remote.requests.Load()
	_, err = f.svc.VerifyFetch(ctx, f.signedGet(t, "a.example", "/users/alice", "http://victim.test/users/eve#main-key", keyA))
	wantCode(t, err, errs.Forbidden)
	if n := f.remote.requests.Load() - before; n != 0 {
		t.Fatalf("%d key fetches for a suspended signer, want 0", n)
	}
}
