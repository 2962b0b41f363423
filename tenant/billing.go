package tenant

import "context"

// BillingActor is who the audit log names for billing's own actions.
var BillingActor = Actor{Email: "billing"}

// BillingSuspender suspends tenants past due and reactivates those paying
// again through the Service (billing.Enforcer's Suspender port): the
// status change and its audit entry in one transaction, then every
// node's host cache is told.
type BillingSuspender struct{ Service *Service }

// Suspend moves an active tenant to suspended for non-payment.
func (b BillingSuspender) Suspend(ctx context.Context, id int64, reason string) error {
	return b.Service.SetStatus(ctx, BillingActor, id, Active, Suspended, "billing.suspend")
}

// Unsuspend moves a tenant suspended by billing back to active.
func (b BillingSuspender) Unsuspend(ctx context.Context, id int64, reason string) error {
	return b.Service.SetStatus(ctx, BillingActor, id, Suspended, Active, "billing.unsuspend")
}
