package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
)

// domainRE is a domain as account_domain_blocks accepts it.
var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// domainBlock hides a domain from the account (a domain_blocks.csv row).
func (r *restorer) domainBlock(domain string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	if len(d) > 253 || !domainRE.MatchString(d) {
		return "domain block " + domain + ": not a domain", nil
	}
	if _, err := r.tx.Exec(r.ctx, `insert into account_domain_blocks (account_id, domain) values ($1, $2)
		on conflict do nothing`, r.local.ID, d); err != nil {
		return "", fmt.Errorf("domain block %s: %w", d, err)
	}
	return "", nil
}

// clearRows are the statements an overwrite import runs first, per list.
var clearRows = map[archive.Kind]string{
	archive.Blocks:       `delete from blocks where account_id = $1`,
	archive.Mutes:        `delete from mutes where account_id = $1`,
	archive.DomainBlocks: `delete from account_domain_blocks where account_id = $1`,
	archive.Bookmarks:    `delete from bookmarks where account_id = $1`,
}

// ClearRows removes the account's rows of a list an overwrite import
// replaces; no other list is ever cleared.
func (s *Store) ClearRows(ctx context.Context, local *federation.Account, kind archive.Kind) error {
	q, ok := clearRows[kind]
	if !ok {
		return fmt.Errorf("clear rows: %q is not overwritten", kind)
	}
	if _, err := s.db.Exec(ctx, q, local.ID); err != nil {
		return fmt.Errorf("clear %s: %w", kind, err)
	}
	return nil
}
