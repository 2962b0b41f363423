package portability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// posts streams outbox.json and imports its posts a batch per
// transaction. Ids are reserved up front (8 bytes a post) so that older
// posts get smaller ids whatever order the file lists them in; only one
// batch of posts is ever in memory.
func (r *run) posts(ctx context.Context) error {
	ids, err := r.im.Store.ReserveStatusIDs(ctx, r.a.NumPosts)
	if err != nil {
		return err
	}
	// Mastodon's and Roost's outboxes list the newest first: the first
	// post read gets the largest id. An oldest-first outbox keeps its order.
	idFor := func(i int) int64 {
		switch {
		case i >= len(ids):
			return 0 // not counted by Open (cannot happen): the next id
		case r.a.OldestFirst:
			return ids[i]
		}
		return ids[len(ids)-1-i]
	}
	var pending []archive.Post
	done := 0
	flush := func() error {
		if err := r.batch(ctx, pending, done, idFor); err != nil {
			return err
		}
		done += len(pending)
		pending = pending[:0]
		if r.req.Progress != nil {
			r.req.Progress(done, r.a.NumPosts)
		}
		return nil
	}
	err = r.a.EachPost(func(p archive.Post) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pending = append(pending, p); len(pending) == batch {
			return flush()
		}
		return nil
	})
	if err == nil && len(pending) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}
	_, err = r.im.Store.ResolveImportedReplies(ctx, r.req.Local.ID)
	return err
}

// batch imports posts (the done-th onwards of the file) in one
// transaction, skipping those imported before and those the client API
// would refuse. Media are stored before the transaction: a crash leaves
// at worst an unattached upload, never a post without its media.
func (r *run) batch(ctx context.Context, posts []archive.Post, done int, idFor func(int) int64) error {
	if len(posts) == 0 {
		return nil
	}
	uris := make([]string, len(posts))
	for j, p := range posts {
		uris[j] = p.OriginalURI
	}
	imported, err := r.im.Store.ImportedURIs(ctx, r.req.Local.ID, uris)
	if err != nil {
		return err
	}
	var out []archive.ImportedPost
	for j, p := range posts {
		if imported[p.OriginalURI] {
			r.sum.Already++
			continue
		}
		if why := checkPost(p); why != "" {
			r.sum.Refused++
			r.sum.Problem("post %s: %s", p.OriginalURI, why)
			continue
		}
		ip, err := r.post(ctx, p, idFor(done+j))
		if err != nil {
			return err
		}
		out = append(out, ip)
	}
	local, links := r.req.Local, r.req.Links
	me := links.Actor(local.Username)
	created, skipped, err := r.im.Store.ImportPosts(ctx, local, out, func(id int64) string {
		return me + "/statuses/" + strconv.FormatInt(id, 10)
	})
	r.sum.Created += len(created)
	r.sum.Already += skipped
	return err
}

// post prepares one post: stored as the account's own, addressed anew,
// mentioning no one (imported posts notify nobody), with its files.
func (r *run) post(ctx context.Context, p archive.Post, id int64) (archive.ImportedPost, error) {
	local, links := r.req.Local, r.req.Links
	st := *p.Status
	st.Mentions = nil
	st.Tags = tagsInText(st.Content, st.Tags)
	st.To, st.Cc = addressing(st.Visibility, links.Followers(local.Username))
	st.Attachments = append([]federation.Attachment(nil), st.Attachments...)
	ip := archive.ImportedPost{ID: id, OriginalURI: p.OriginalURI, Status: &st, Publish: r.req.Publish}
	for _, m := range p.Media {
		att, err := r.media(ctx, p, m)
		if err != nil {
			return ip, err
		}
		if att != nil {
			ip.MediaIDs = append(ip.MediaIDs, att.MediaID)
			st.Attachments = append(st.Attachments, *att)
		}
	}
	return ip, nil
}

// media stores one file of a post, unless another post took it already:
// each file of the archive is stored once however often it is named. A
// file we do not take (its type, its size, a damaged or padded entry) is
// skipped, and the post is imported without it.
func (r *run) media(ctx context.Context, p archive.Post, m archive.Media) (*federation.Attachment, error) {
	if n := r.used[m.Path]; n > 0 {
		r.sum.MediaSkipped++
		if r.used[m.Path]++; n == 1 { // said once per file, counted every time
			r.sum.Problem("media %s of %s: named by another post already (each file is taken once)", m.Path, p.OriginalURI)
		}
		return nil, nil
	}
	r.used[m.Path] = 1
	rc, err := r.a.OpenMedia(m.Path)
	if err == nil {
		var att *media.Attachment
		att, err = r.im.Media.Upload(ctx, media.Upload{TenantID: r.req.Local.TenantID, AccountID: r.req.Local.ID,
			File: rc, Description: clipRunes(m.Description, media.MaxDescription)})
		rc.Close()
		if err == nil {
			r.sum.MediaStored++
			fa := att.Federation(r.req.Links.Base)
			return &fa, nil
		}
	}
	if errors.Is(err, archive.ErrBudget) || errs.CodeOf(err) == errs.Internal || ctx.Err() != nil {
		return nil, fmt.Errorf("%s: %w", m.Path, err)
	}
	r.sum.MediaSkipped++
	r.sum.Problem("media %s of %s: %s", m.Path, p.OriginalURI, errs.MessageOf(err))
	return nil, nil
}

// publish delivers the posts imported with publishing asked, once
// threaded, oldest first; each is marked done in the transaction that
// delivers it, so a rerun after a crash delivers the rest and nothing
// twice.
func (r *run) publish(ctx context.Context) error {
	if !r.req.Publish {
		return nil
	}
	local, links := r.req.Local, r.req.Links
	me := links.Actor(local.Username)
	render := func(st *federation.Status) (string, []byte, error) {
		url := links.Profile(local.Username) + "/" + strconv.FormatInt(st.ID, 10)
		id := st.URI + "/activity"
		body, err := json.Marshal(ap.Wrap("Create", id, me, ap.NewNote(st, me, url), st.To, st.Cc))
		return id, body, err
	}
	for after := int64(0); ; {
		page, err := r.im.Store.PendingPublications(ctx, local.ID, after, batch)
		if err != nil || len(page) == 0 {
			return err
		}
		for _, st := range page {
			after = st.ID
			ids, err := r.im.Store.PublishImported(ctx, st, render)
			if err != nil {
				return err
			}
			if r.im.Dispatch != nil {
				_ = r.im.Dispatch.Dispatch(ctx, false, ids) // the sweeper catches up on failure
			}
			r.sum.Published++
		}
	}
}

// addressing is ap.Addressing without mentions: imported posts are
// stored, not delivered, so they notify no one.
func addressing(v federation.Visibility, followers string) ([]string, []string) {
	switch v {
	case federation.Public:
		return []string{federation.PublicCollection}, []string{followers}
	case federation.Unlisted:
		return []string{followers}, []string{federation.PublicCollection}
	case federation.Private:
		return []string{followers}, nil
	}
	return nil, nil
}
