package archive

import (
	"context"
	"time"

	"github.com/roost-social/roost/federation"
)

// JobKind tells exports from imports.
type JobKind string

const (
	ExportJob JobKind = "export"
	ImportJob JobKind = "import"
)

// Job states.
const (
	Pending = "pending"
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Job is an export or an import, built or run by `roost work`.
type Job struct {
	ID        int64
	Kind      JobKind
	TenantID  int64
	AccountID int64
	State     string
	Progress  int64
	Total     int64 // imports: posts in the archive
	Path      string
	Size      int64 // exports: the zip's size once done
	Publish   bool  // imports: deliver imported posts to followers
	// Result is an import's summary: bounded (counts and the first few
	// problems), whatever the archive held.
	Result     string
	Error      string
	CreatedAt  time.Time
	FinishedAt *time.Time
	ExpiresAt  *time.Time // exports
	// Imports: follows queued to be sent over time, and how many were
	// sent or failed so far.
	FollowsQueued, FollowsSent, FollowsFailed int64
}

// ImportedPost is a post to recreate (federation.ImportedPost).
type ImportedPost = federation.ImportedPost

// Jobs stores export and import jobs. Every read is by owner.
type Jobs interface {
	// RequestExport queues an export, or returns the account's export
	// still queued or built within the last day.
	RequestExport(ctx context.Context, tenantID, accountID int64) (*Job, error)
	// RequestImport queues an import; errs.Conflict while another import
	// of the account is queued or running.
	RequestImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*Job, error)
	// Job finds a job of the account, or errs.NotFound.
	Job(ctx context.Context, kind JobKind, tenantID, accountID, id int64) (*Job, error)
}

// QueuedFollow is a follow an import queued, due to be sent: Target is a
// handle, or the actor URI of an account already known.
type QueuedFollow struct {
	ID, ImportID, AccountID int64
	Target                  string
	Attempts                int
}
