package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.StatusStore = (*Store)(nil)

const statusColumns = `id, account_id, coalesce(tenant_id, 0), uri, coalesce(url, ''), coalesce(in_reply_to_uri, ''),
	content, summary, sensitive, visibility, coalesce(language, ''), to_uris, cc_uris, mentions, tags, attachments, poll,
	published_at, edited_at, created_at, coalesce(quote_uri, ''), coalesce(quote_stamp, ''), coalesce(quote_policy, '')`

func scanStatus(row pgx.Row) (*federation.Status, error) { return scanStatusPlus(row) }

// scanStatusPlus scans statusColumns followed by extra columns.
func scanStatusPlus(row pgx.Row, extra ...any) (*federation.Status, error) {
	s := &federation.Status{}
	var attachments, poll []byte
	err := row.Scan(append([]any{&s.ID, &s.AccountID, &s.TenantID, &s.URI, &s.URL, &s.InReplyToURI, &s.Content, &s.Summary,
		&s.Sensitive, &s.Visibility, &s.Language, &s.To, &s.Cc, &s.Mentions, &s.Tags, &attachments, &poll,
		&s.Published, &s.EditedAt, &s.CreatedAt, &s.QuoteURI, &s.QuoteStamp, &s.QuotePolicy}, extra...)...)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(attachments, &s.Attachments); err != nil {
		return nil, err
	}
	if len(poll) > 0 {
		s.Poll = &federation.Poll{}
		if err := json.Unmarshal(poll, s.Poll); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// statusArgs are the insert/update parameters $2..$17 shared by both
// kinds of write.
func statusArgs(s *federation.Status) ([]any, error) {
	att, err := json.Marshal(nonNil(s.Attachments))
	if err != nil {
		return nil, err
	}
	var poll []byte
	if s.Poll != nil {
		if poll, err = json.Marshal(s.Poll); err != nil {
			return nil, err
		}
	}
	return []any{s.AccountID, s.URI, nullable(s.URL), nullable(s.InReplyToURI), s.Content, s.Summary, s.Sensitive,
		string(s.Visibility), nullable(s.Language), strs(s.To), strs(s.Cc), strs(s.Mentions), strs(s.Tags), att, poll,
		s.Published, s.EditedAt}, nil
}

const insertStatus = `insert into statuses (id, account_id, uri, url, in_reply_to_uri, content, summary, sensitive,
	visibility, language, to_uris, cc_uris, mentions, tags, attachments, poll, published_at, edited_at, tenant_id)
	values (coalesce($1, nextval(pg_get_serial_sequence('statuses', 'id'))), $2, $3, $4, $5, $6, $7, $8, $9, $10,
	$11, $12, $13, $14, $15, $16, $17, $18, $19)`

// insertReblog is insertStatus with the reblogged status's id as $20.
var insertReblog = strings.Replace(strings.Replace(insertStatus, "edited_at, tenant_id)", "edited_at, tenant_id, reblog_of_id)", 1),
	"$18, $19)", "$18, $19, $20)", 1)

// UpsertRemoteStatus stores a remote status, or updates it when its URI is
// known and belongs to the same author (an Update by anyone else is
// refused).
func (s *Store) UpsertRemoteStatus(ctx context.Context, st *federation.Status) (*federation.Status, error) {
	args, err := statusArgs(st)
	if err != nil {
		return nil, err
	}
	out, err := scanStatus(s.db.QueryRow(ctx, insertStatus+`
		on conflict (uri) do update set url = excluded.url, content = excluded.content, summary = excluded.summary,
			sensitive = excluded.sensitive, visibility = excluded.visibility, language = excluded.language,
			to_uris = excluded.to_uris, cc_uris = excluded.cc_uris, mentions = excluded.mentions, tags = excluded.tags,
			attachments = excluded.attachments, poll = excluded.poll, edited_at = excluded.edited_at
		where statuses.account_id = excluded.account_id and statuses.tenant_id is null
		returning `+statusColumns, append(append([]any{nil}, args...), nil)...))
	if err == pgx.ErrNoRows {
		return nil, errs.E(errs.Forbidden, "status %s belongs to another actor", st.URI)
	}
	if err != nil {
		return nil, fmt.Errorf("upsert status %s: %w", st.URI, err)
	}
	// Its custom emojis (statusroutes.go); a new post without any has none
	// stored to clear.
	if len(st.Emojis) > 0 || st.EditedAt != nil {
		if err := s.storeEmojis(ctx, "statuses", out.ID, st.Emojis); err != nil {
			return nil, err
		}
		out.Emojis = st.Emojis
	}
	return out, nil
}

// StatusByURI finds a status by URI.
func (s *Store) StatusByURI(ctx context.Context, uri string) (*federation.Status, error) {
	st, err := scanStatus(s.db.QueryRow(ctx, `select `+statusColumns+` from statuses where uri = $1`, uri))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such status")
	}
	return st, nil
}

// DeleteStatusByURI removes a status by its author.
func (s *Store) DeleteStatusByURI(ctx context.Context, uri string, accountID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `delete from statuses where uri = $1 and account_id = $2`, uri, accountID)
	if err != nil {
		return false, fmt.Errorf("delete status: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNil(a []federation.Attachment) []federation.Attachment {
	if a == nil {
		return []federation.Attachment{}
	}
	return a
}

// EditLocalStatus replaces a local status's text and marks it edited; it
// returns errs.NotFound unless the status is the account's own.
func (s *Store) EditLocalStatus(ctx context.Context, uri string, accountID int64, e federation.StatusEdit) (*federation.Status, error) {
	var out *federation.Status
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var id int64
		var oldPoll []byte
		if err := tx.QueryRow(ctx, `select id, poll from statuses where uri = $1 and account_id = $2
			and tenant_id is not null for update`, uri, accountID).Scan(&id, &oldPoll); err != nil {
			return err
		}
		// The version being replaced joins the history first.
		if _, err := tx.Exec(ctx, `insert into status_edits (status_id, content, summary, sensitive, created_at)
			select id, content, summary, sensitive, coalesce(edited_at, published_at) from statuses
			where id = $1`, id); err != nil {
			return err
		}
		att, poll, err := editedMedia(ctx, tx, id, oldPoll, e)
		if err != nil {
			return err
		}
		out, err = scanStatus(tx.QueryRow(ctx, `update statuses set content = $3, text = $4, summary = $5,
			sensitive = $6, language = nullif($7, ''), tags = $8, edited_at = $9, attachments = $10, poll = $11
			where uri = $1 and account_id = $2 and tenant_id is not null returning `+statusColumns,
			uri, accountID, e.Content, e.Text, e.Summary, e.Sensitive, e.Language, strs(e.Tags), e.At, att, poll))
		if err != nil {
			return err
		}
		return attachMedia(ctx, tx, out)
	})
	if err != nil {
		return nil, pgutil.NotFound(err, "no such post of this account")
	}
	return out, nil
}

// editedMedia encodes an edit's attachments and poll; a poll asking the
// same question keeps its votes.
func editedMedia(ctx context.Context, tx pgx.Tx, statusID int64, oldPoll []byte, e federation.StatusEdit) ([]byte, []byte, error) {
	att, err := json.Marshal(nonNil(e.Attachments))
	if err != nil {
		return nil, nil, err
	}
	var next *federation.Poll
	if e.Poll != nil {
		p := *e.Poll
		p.Options = append([]federation.PollOption(nil), e.Poll.Options...)
		next = &p
	}
	if err := keepPollVotes(ctx, tx, statusID, oldPoll, next); err != nil {
		return nil, nil, err
	}
	var poll []byte
	if next != nil {
		if poll, err = json.Marshal(next); err != nil {
			return nil, nil, err
		}
	}
	return att, poll, nil
}

// StatusHistory lists the earlier versions, oldest first, of a status the
// viewer may see; none of one they may not.
func (s *Store) StatusHistory(ctx context.Context, viewerID, statusID int64) ([]federation.StatusVersion, error) {
	rows, err := s.db.Query(ctx, `select content, summary, sensitive, created_at from status_edits
		where status_id = $2 and `+visibleStatus("$2")+` order by id`, viewerID, statusID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.StatusVersion, error) {
		var v federation.StatusVersion
		err := r.Scan(&v.Content, &v.Summary, &v.Sensitive, &v.CreatedAt)
		return v, err
	})
}
