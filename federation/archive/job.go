package archive

import (
	"context"
	"time"
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
	ID         int64
	Kind       JobKind
	TenantID   int64
	AccountID  int64
	State      string
	Progress   int64
	Total      int64 // imports: posts in the archive
	Path       string
	Size       int64 // exports: the zip's size once done
	Publish    bool  // imports: deliver imported posts to followers
	Result     string
	Error      string
	CreatedAt  time.Time
	FinishedAt *time.Time
	ExpiresAt  *time.Time // exports
}

// Jobs stores export and import jobs. Every read is by owner.
type Jobs interface {
	RequestExport(ctx context.Context, tenantID, accountID int64) (*Job, error)
	RequestImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*Job, error)
	// Job finds a job of the account, or errs.NotFound.
	Job(ctx context.Context, kind JobKind, tenantID, accountID, id int64) (*Job, error)
}
