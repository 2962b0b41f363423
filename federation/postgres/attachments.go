package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// attachMedia attaches a local status's uploads (the attachments with a
// MediaID) to it, in its transaction, and detaches those it no longer
// shows. Each must be the author's, ready, and unattached or already on
// this status: checked again here, under the row locks, so two posts
// racing for one upload cannot both have it. An upload a scheduled post
// reserves (scheduled.go) is taken by none other.
func attachMedia(ctx context.Context, tx pgx.Tx, st *federation.Status) error {
	ids := []int64{} // not nil: <> all(null) matches nothing
	for _, a := range st.Attachments {
		if a.MediaID != 0 {
			ids = append(ids, a.MediaID)
		}
	}
	if _, err := tx.Exec(ctx, `update media_attachments set status_id = null
		where status_id = $1 and id <> all($2::bigint[])`, st.ID, ids); err != nil {
		return fmt.Errorf("detach media: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, sqlAttachMedia, st.ID, ids, st.AccountID, st.TenantID) // publish_batch.go
	if err != nil {
		return fmt.Errorf("attach media: %w", err)
	}
	if tag.RowsAffected() != int64(len(ids)) {
		return errs.E(errs.Invalid, "media cannot be attached: it is not yours, not ready, or on another post or a scheduled one")
	}
	return nil
}
