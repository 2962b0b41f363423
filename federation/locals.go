package federation

import "context"

// Locals finds this instance's own accounts by actor URI or handle, for
// the ActivityPub machinery on both sides: the inbox resolving whom an
// activity addresses, the outbox addressing local followers and
// mentions. Implemented over host routing (inbox.SiteLocals).
type Locals interface {
	// ByURI returns the local account with this actor URI on the tenant,
	// or errs.NotFound (also for accounts of other tenants).
	ByURI(ctx context.Context, tenantID int64, uri string) (*Account, error)
	// Links returns the URL builder for a local account's actor host.
	Links(ctx context.Context, a *Account) (Links, error)
	// ByHandle returns the local account user@host on any tenant, or
	// errs.NotFound when host is not ours or has no such account.
	ByHandle(ctx context.Context, user, host string) (*Account, error)
}

// Sender hands activities to the delivery pipeline (delivery.Queue):
// the inbox answers Follows and forwards, the outbox sends what local
// accounts do.
type Sender interface {
	Send(ctx context.Context, senderID int64, activityID string, body []byte, inboxes []string, express bool) error
}
