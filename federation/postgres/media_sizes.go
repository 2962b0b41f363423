package postgres

import (
	"context"
	"fmt"
)

// MediaSizes returns the stored byte sizes of a tenant's uploads by id
// (RSS enclosures state them); ids of another tenant's uploads, or of
// none, are left out.
func (s *Store) MediaSizes(ctx context.Context, tenantID int64, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `select id, file_size from media_attachments where tenant_id = $1 and id = any($2)`,
		tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("media sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, size int64
		if err := rows.Scan(&id, &size); err != nil {
			return nil, fmt.Errorf("media sizes: %w", err)
		}
		out[id] = size
	}
	return out, rows.Err()
}
