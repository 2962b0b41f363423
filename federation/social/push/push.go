// Package push is Web Push for Mastodon apps: an app subscribes an
// endpoint of its push service for its access token
// (/api/v1/push/subscription), and every notification of the account
// that the subscription's alerts and policy admit is encrypted for the
// app's keys (RFC 8291), signed with the instance's VAPID keys (RFC 8292)
// and sent by `roost work` (Deliverer.Pass), with retries; a push
// service that says the subscription is gone (404/410) ends it.
//
// Which notifications become pushes is decided in the database, by a
// trigger on the notifications table (migrations/033_web_push.sql), so
// every path that notifies — posts, favourites, follows, polls, edits,
// whatever comes next — queues its pushes in its own transaction.
package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Service keeps subscriptions and the instance's VAPID keys.
type Service struct {
	Store federation.PushStore
	// Rand is the source of keys and nonces; nil is crypto/rand.
	Rand io.Reader

	mu   sync.Mutex
	keys *federation.VAPIDKeys
}

// Owner is who subscribes: the access token and the account it acts as.
type Owner struct {
	TenantID  int64
	AccountID int64
	TokenID   int64
	// Bearer is the token as presented; it is sealed into the
	// subscription for the payload's access_token.
	Bearer string
}

// Subscription is what an app asks for: its push service endpoint and
// keys (POST), and which alerts under which policy (POST and PUT).
type Subscription struct {
	Endpoint string
	P256DH   string
	Auth     string
	Alerts   Alerts
}

// Alerts are the enabled alert names and the policy; Mastodon replaces
// both wholesale on every POST and PUT (an alert not sent is off, no
// policy is "all").
type Alerts struct {
	Enabled []string
	Policy  string
}

var b64 = base64.RawURLEncoding

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Keys returns the instance's VAPID keys, making them the first time any
// node needs them; every node then agrees on the first pair stored.
func (s *Service) Keys(ctx context.Context) (federation.VAPIDKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return *s.keys, nil
	}
	k, err := s.Store.VAPIDKeys(ctx)
	if errs.CodeOf(err) == errs.NotFound {
		k, err = s.newKeys(ctx)
	}
	if err != nil {
		return k, err
	}
	s.keys = &k
	return k, nil
}

func (s *Service) newKeys(ctx context.Context) (federation.VAPIDKeys, error) {
	priv, err := ecdh.P256().GenerateKey(s.rand())
	if err != nil {
		return federation.VAPIDKeys{}, errs.Wrap(errs.Internal, err, "VAPID keys could not be made")
	}
	return s.Store.CreateVAPIDKeys(ctx, federation.VAPIDKeys{
		Public: b64.EncodeToString(priv.PublicKey().Bytes()), Private: b64.EncodeToString(priv.Bytes()),
	})
}

// PublicKey is the VAPID public key apps subscribe with (the instance's
// configuration.vapid.public_key and the Application's vapid_key).
func (s *Service) PublicKey(ctx context.Context) (string, error) {
	k, err := s.Keys(ctx)
	return k.Public, err
}

// Subscribe replaces the owner's subscription (one per access token, as
// on Mastodon) with sub, after checking the endpoint and keys.
func (s *Service) Subscribe(ctx context.Context, o Owner, sub Subscription) (*federation.PushSubscription, error) {
	endpoint, err := checkEndpoint(sub.Endpoint)
	if err != nil {
		return nil, err
	}
	p256dh, auth, err := checkKeys(sub.P256DH, sub.Auth)
	if err != nil {
		return nil, err
	}
	alerts, policy, err := checkAlerts(sub.Alerts)
	if err != nil {
		return nil, err
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		return nil, err
	}
	sealed, err := seal(keys, o.Bearer, s.rand())
	if err != nil {
		return nil, err
	}
	p := &federation.PushSubscription{TenantID: o.TenantID, AccountID: o.AccountID, TokenID: o.TokenID,
		Endpoint: endpoint, P256DH: p256dh, Auth: auth, Alerts: alerts, Policy: policy, SealedToken: sealed}
	if err := s.Store.SavePushSubscription(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Subscription is the owner's subscription; errs.NotFound when none.
func (s *Service) Subscription(ctx context.Context, o Owner) (*federation.PushSubscription, error) {
	return s.Store.PushSubscription(ctx, o.TenantID, o.TokenID)
}

// Update replaces the alerts and policy of the owner's subscription.
func (s *Service) Update(ctx context.Context, o Owner, a Alerts) (*federation.PushSubscription, error) {
	alerts, policy, err := checkAlerts(a)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdatePushAlerts(ctx, o.TenantID, o.TokenID, alerts, policy)
}

// Unsubscribe removes the owner's subscription, if any.
func (s *Service) Unsubscribe(ctx context.Context, o Owner) error {
	return s.Store.DeletePushSubscription(ctx, o.TenantID, o.TokenID)
}

// maxEndpoint bounds an endpoint URL (the column's check).
const maxEndpoint = 2048

// checkEndpoint accepts an absolute http(s) URL without credentials.
// Where it may be reached is the safe outbound client's decision at
// delivery (https only, public addresses only): an endpoint it refuses
// ends the subscription at its first push.
func checkEndpoint(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errs.E(errs.Invalid, "Validation failed: Endpoint can't be blank")
	}
	u, err := url.Parse(raw)
	if err != nil || len(raw) > maxEndpoint || (u.Scheme != "https" && u.Scheme != "http") ||
		u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return "", errs.E(errs.Invalid, "Validation failed: Endpoint is not a valid URL")
	}
	return raw, nil
}

// checkKeys decodes the subscription's keys (base64, URL-safe or not,
// padded or not: browsers and apps send all four), checks p256dh is a
// point on P-256 and auth is 16 bytes, and returns both normalised to
// unpadded base64url.
func checkKeys(p256dh, auth string) (string, string, error) {
	pub, err := decodeKey(p256dh)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pub)
	}
	if err != nil {
		return "", "", errs.E(errs.Invalid, "Validation failed: the p256dh key is not a P-256 public key")
	}
	secret, err := decodeKey(auth)
	if err != nil || len(secret) != 16 {
		return "", "", errs.E(errs.Invalid, "Validation failed: the auth secret must be 16 bytes")
	}
	return b64.EncodeToString(pub), b64.EncodeToString(secret), nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	if len(s) > 200 {
		return nil, errs.E(errs.Invalid, "key too long")
	}
	return b64.DecodeString(s)
}

// checkAlerts keeps the known alert names (Mastodon ignores others),
// sorted and once each, and checks the policy.
func checkAlerts(a Alerts) ([]string, string, error) {
	policy := a.Policy
	if policy == "" {
		policy = federation.PushAll
	}
	switch policy {
	case federation.PushAll, federation.PushFollowed, federation.PushFollower, federation.PushNone:
	default:
		return nil, "", errs.E(errs.Invalid, "Validation failed: Policy is not included in the list")
	}
	out := []string{}
	for _, name := range a.Enabled {
		if slices.Contains(federation.PushAlerts, name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, policy, nil
}
