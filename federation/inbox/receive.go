// Package inbox receives ActivityPub deliveries: it checks HTTP signatures
// against the sender's (cached or fetched) key, binds the key to the
// activity's actor, and queues the activity durably before answering.
package inbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// Service implements federation.Inbox.
type Service struct {
	Keys  *actors.Keys
	Store Enqueuer
	// Ours reports whether a host is one of this instance's hostnames: an
	// activity claiming to come from one never arrives over HTTP.
	Ours func(ctx context.Context, host string) bool
	// Blocks are the domain blocks in force (an in-memory snapshot): a
	// suspended domain's POSTs are refused before any key is fetched.
	Blocks Policy
	Now    func() time.Time
	// Scheme is the URL scheme peers reach this server with ("https", or
	// "http" in local development): an RFC 9421 signature covering
	// @target-uri signs it. Empty: both are tried, https first.
	Scheme string
}

// Policy is the domain blocks in force (domainblock.Cache).
type Policy interface {
	Check(tenantID int64, host string) domainblock.Verdict
}

var _ federation.Inbox = (*Service)(nil)

// Enqueuer durably queues a verified activity (federation.InboxStore, or a
// group-committing batcher in front of it).
type Enqueuer interface {
	Enqueue(ctx context.Context, tenantID int64, activityID, actorURI string, activity []byte) (duplicate bool, err error)
}

// envelope is the part of an activity the inbox itself reads.
type envelope struct {
	ID    string `json:"id"`
	Type  any    `json:"type"`
	Actor any    `json:"actor"`
}

// Receive verifies and queues one delivery. The checks run cheapest first,
// so malformed or misattributed requests never cause a key fetch.
func (s *Service) Receive(ctx context.Context, in federation.InboxRequest) error {
	r, err := httpRequest(in)
	if err != nil {
		return err
	}
	now := s.now()
	params, err := signature.Check(r, in.Body, now)
	if err != nil {
		return err
	}
	var env envelope
	if err := json.Unmarshal(in.Body, &env); err != nil {
		return errs.E(errs.Invalid, "the body is not a JSON activity")
	}
	actor := actorID(env.Actor)
	actorHost := ap.HostOf(actor)
	if actorHost == "" {
		return errs.E(errs.Invalid, "the activity has no actor")
	}
	if ap.HostOf(params.KeyID) != actorHost {
		return errs.E(errs.Unauthorized, "the signing key is not on the actor's host")
	}
	if s.Blocks != nil && s.Blocks.Check(in.TenantID, actorHost).Suspend {
		return errs.E(errs.Forbidden, "%s is suspended by this server: its activities are not accepted", hostname(actorHost))
	}
	if s.Ours != nil && s.Ours(ctx, hostname(actorHost)) {
		return errs.E(errs.Unauthorized, "activities of local actors are not accepted over HTTP")
	}
	if env.ID != "" && ap.HostOf(env.ID) != actorHost {
		return errs.E(errs.Unauthorized, "the activity id is not on the actor's host")
	}
	if in.ActorHost != "" {
		ctx = federation.WithActingHost(ctx, in.ActorHost)
	}
	owner, err := s.verify(ctx, r, params)
	if err != nil {
		return err
	}
	if owner.Remote.URI != actor {
		return errs.E(errs.Unauthorized, "the signing key does not belong to the activity's actor")
	}
	id := env.ID
	if id == "" {
		// Transient activities have no id; dedupe on the exact body.
		sum := sha256.Sum256(in.Body)
		id = "urn:sha256:" + hex.EncodeToString(sum[:])
	}
	_, err = s.Store.Enqueue(ctx, in.TenantID, id, actor, in.Body)
	return err
}

// verify checks the signature (draft-cavage or RFC 9421: Check decided
// which, and Verify follows it) with the sender's key (refetched once when
// the cached one fails: rotation) and returns the key's owner.
func (s *Service) verify(ctx context.Context, r *http.Request, p *signature.Params) (*federation.Account, error) {
	if s.Scheme != "" && r.URL != nil && r.URL.Scheme == "" {
		u := *r.URL
		u.Scheme = s.Scheme
		shadow := *r
		shadow.URL = &u
		r = &shadow
	}
	return s.Keys.Verify(ctx, p.KeyID, func(owner *federation.Account) error {
		return s.verifyWith(r, p, owner)
	})
}

func (s *Service) verifyWith(r *http.Request, p *signature.Params, owner *federation.Account) error {
	pub, err := s.Keys.PublicKey(owner.PublicKeyPEM)
	if err != nil {
		return errs.Wrap(errs.Unauthorized, err, "the sender's public key is unusable")
	}
	return signature.Verify(r, p, pub)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// httpRequest rebuilds the server-side request the signature covers.
func httpRequest(in federation.InboxRequest) (*http.Request, error) {
	u, err := url.ParseRequestURI(in.Target)
	if err != nil {
		return nil, errs.E(errs.Invalid, "bad request target")
	}
	return &http.Request{Method: in.Method, URL: u, Host: in.Host, Header: in.Header, RequestURI: in.Target}, nil
}

func actorID(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		s, _ := t["id"].(string)
		return s
	}
	return ""
}

// hostname drops a port from a host.
func hostname(host string) string {
	u := url.URL{Host: host}
	return u.Hostname()
}
