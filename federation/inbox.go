package federation

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// InboxRequest is an inbox POST as it arrived, independent of the HTTP
// framework: what signature checks need, and the Site it arrived on.
type InboxRequest struct {
	Method   string
	Target   string // path and query, as signed in (request-target)
	Host     string // the Host header as received (signed as "host")
	Header   http.Header
	Body     []byte
	TenantID int64
	Domain   string // the tenant's handle domain
	// ActorHost is the site's actor host: fetches made to verify this
	// delivery are signed as its instance actor.
	ActorHost string
	// Recipient is the username of a personal inbox; empty for the shared
	// inbox.
	Recipient string
}

// Inbox accepts verified activities. Receive returns nil once the activity
// is durably queued (or was already), errs.Unauthorized when the signature
// or the sender's identity does not hold, errs.Invalid for a malformed
// activity. Implementations MUST be safe for concurrent use.
type Inbox interface {
	Receive(ctx context.Context, r InboxRequest) error
}

// InboxItem is a verified activity waiting to be processed for a tenant.
type InboxItem struct {
	ID         int64
	TenantID   int64
	ActivityID string
	ActorURI   string
	Activity   json.RawMessage
	ReceivedAt time.Time
	Attempts   int
}

// InboxStore queues verified activities. Enqueue reports duplicate=true
// when the tenant already had this activity id (it is then not queued
// again).
type InboxStore interface {
	Enqueue(ctx context.Context, tenantID int64, activityID, actorURI string, activity []byte) (duplicate bool, err error)
	// ClaimInboxItems leases up to limit unprocessed items for lease,
	// fairly across tenants (round-robin from the tenant cursor after, so
	// one tenant's inbox flood does not hold another's items behind it),
	// and returns the cursor for the next claim; an item whose lease
	// expired (its worker died) is claimed again.
	ClaimInboxItems(ctx context.Context, after int64, limit int, lease time.Duration) ([]InboxItem, int64, error)
	// FinishInboxItem marks an item processed (reason records why it was
	// ignored or failed for good, when not empty).
	FinishInboxItem(ctx context.Context, id int64, reason string) error
}

// RemoteActorStore caches remote actors, shared by every tenant.
type RemoteActorStore interface {
	// UpsertRemoteActor stores a parsed remote actor (by URI) and returns it
	// with its id.
	UpsertRemoteActor(ctx context.Context, a *Account) (*Account, error)
	// RemoteActorByKeyID finds the cached actor owning a key, or errs.NotFound.
	RemoteActorByKeyID(ctx context.Context, keyID string) (*Account, error)
	// RemoteActorByURI finds a cached actor, or errs.NotFound.
	RemoteActorByURI(ctx context.Context, uri string) (*Account, error)
}
