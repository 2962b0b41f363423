package tenant

import "time"

// Deletion is a tenant's scheduled deletion: the tenant stays served
// until DueAt, then `roost work` announces Delete(Person) for each of its
// accounts (Announced; no cancelling from then on) and removes it.
type Deletion struct {
	TenantID    int64
	RequestedBy string
	RequestedAt time.Time
	DueAt       time.Time
	Announced   *time.Time
}
