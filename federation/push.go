package federation

import (
	"context"
	"time"
)

// Push policies (WebPushSubscription.policy): from whom a subscription
// hears at all.
const (
	PushAll      = "all"      // everyone
	PushFollowed = "followed" // accounts the subscriber follows
	PushFollower = "follower" // accounts that follow the subscriber
	PushNone     = "none"     // nobody: the subscription is paused
)

// PushAlerts are the alert names of Mastodon's WebPushSubscription, in the
// order it renders them; each is the notification type it lets through.
var PushAlerts = []string{"mention", "quote", "status", "reblog", "follow", "follow_request", "favourite",
	"poll", "update", "quoted_update", "admin.sign_up", "admin.report"}

// PushSubscription is an app's Web Push subscription, one per access
// token (TokenID). Keys are base64url without padding: P256DH the
// browser's or phone's ECDH public key (65 bytes), Auth its 16-byte
// authentication secret (RFC 8291).
type PushSubscription struct {
	ID        int64
	TenantID  int64
	AccountID int64
	TokenID   int64
	Endpoint  string
	P256DH    string
	Auth      string
	// Alerts are the enabled notification types (a subset of PushAlerts).
	Alerts []string
	Policy string
	// SealedToken is the access token, sealed by the push use case: the
	// payload carries it so a web app knows which account a push is for.
	SealedToken []byte
	CreatedAt   time.Time
}

// VAPIDKeys is the instance's VAPID key pair (RFC 8292), base64url
// without padding: Public the 65-byte uncompressed P-256 point apps
// subscribe with, Private the 32-byte scalar.
type VAPIDKeys struct {
	Public  string
	Private string
}

// PushJob is one claimed push: the subscription to send to and what the
// notification says.
type PushJob struct {
	ID           int64
	Attempts     int // including this one
	Subscription PushSubscription
	Notification PushNotification
}

// PushNotification is what a push payload tells of a notification.
type PushNotification struct {
	ID   int64
	Type string
	// Domain is the recipient's handle domain: the site the push speaks
	// for (VAPID subject, default avatar).
	Domain string
	// Locale is the recipient's default posting language, if set.
	Locale string
	// From is the account that acted.
	FromUsername    string
	FromDomain      string
	FromDisplayName string
	FromAvatarURL   string
	FromNote        string
	FromLocal       bool
	// Status fields, empty when the notification has none.
	StatusContent string // sanitised HTML
	StatusSummary string
}

// PushStore keeps push subscriptions, the VAPID keys and the push queue
// (federation/postgres). Every subscription method is scoped by tenant
// and token: a token of another tenant finds nothing (errs.NotFound).
type PushStore interface {
	// PushSubscription is the subscription of token tokenID on tenantID.
	PushSubscription(ctx context.Context, tenantID, tokenID int64) (*PushSubscription, error)
	// SavePushSubscription replaces the token's subscription with s (its
	// ID and CreatedAt are filled), dropping pushes still pending for
	// the old one. errs.NotFound when the token is not a live token of
	// s.AccountID on s.TenantID.
	SavePushSubscription(ctx context.Context, s *PushSubscription) error
	// UpdatePushAlerts changes the alerts and policy of the token's
	// subscription and returns it.
	UpdatePushAlerts(ctx context.Context, tenantID, tokenID int64, alerts []string, policy string) (*PushSubscription, error)
	// DeletePushSubscription removes the token's subscription; none is
	// not an error.
	DeletePushSubscription(ctx context.Context, tenantID, tokenID int64) error

	// VAPIDKeys returns the instance's keys; errs.NotFound before any.
	VAPIDKeys(ctx context.Context) (VAPIDKeys, error)
	// CreateVAPIDKeys stores k unless keys exist, and returns the keys
	// in force (the first ever stored, whichever node made them).
	CreateVAPIDKeys(ctx context.Context, k VAPIDKeys) (VAPIDKeys, error)

	// ClaimPushes leases up to limit pushes due at now for lease: each
	// comes back with its attempt counted and is not due again before
	// now+lease, so a worker that dies mid-send loses nothing and two
	// workers never send one push at once.
	ClaimPushes(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]PushJob, error)
	// PushSent removes a push that was delivered, or given up on.
	PushSent(ctx context.Context, id int64) error
	// RetryPush makes a push due again at at, recording why it failed.
	RetryPush(ctx context.Context, id int64, at time.Time, reason string) error
	// DropPushSubscription removes a subscription the push service says
	// is gone (404/410), with its pending pushes.
	DropPushSubscription(ctx context.Context, id int64) error
}

// PushMessage is one encrypted Web Push request's inputs.
type PushMessage struct {
	Endpoint string
	P256DH   string
	Auth     string
	Payload  []byte
	// Subject is the VAPID contact (an https URL or mailto:).
	Subject string
	TTL     time.Duration
	// Urgency is RFC 8030's: very-low, low, normal or high.
	Urgency string
}

// PushSender encrypts a message for its subscription (RFC 8291
// aes128gcm), signs it with the VAPID keys (RFC 8292) and POSTs it to the
// endpoint through the safe outbound client. It returns the push
// service's status; an error means no answer (or a request that can
// never be made: see fetch.Permanent).
type PushSender interface {
	SendPush(ctx context.Context, m PushMessage, keys VAPIDKeys) (int, error)
}
