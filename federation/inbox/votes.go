package inbox

import (
	"context"
	"slices"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// vote counts a remote actor's vote on a local poll. Mastodon votes by
// sending, for each choice, a Create of a Note whose name is the option's
// title, in reply to the poll. It reports false when doc is not such a
// vote — not a named Note, or not in reply to a local poll with that
// option — and create goes on with it as an ordinary post.
//
// The votes are recorded by the status store when it keeps polls
// (federation.PollStore: the PostgreSQL store does).
func (a *activity) vote(ctx context.Context, doc []byte) (bool, error) {
	polls, ok := a.Statuses.(federation.PollStore)
	if !ok {
		return false, nil
	}
	v, ok := ap.ParseVote(doc)
	if !ok {
		return false, nil
	}
	st, err := a.Statuses.StatusByURI(ctx, v.InReplyTo)
	if err != nil || st.Poll == nil || st.TenantID == 0 {
		return false, nil
	}
	choice := slices.IndexFunc(st.Poll.Options, func(o federation.PollOption) bool { return o.Title == v.Name })
	if choice < 0 {
		return false, nil
	}
	if (v.Author != "" && v.Author != a.actor.Remote.URI) || ap.HostOf(v.ID) != ap.HostOf(a.actor.Remote.URI) {
		return true, errs.E(errs.Forbidden, "a vote can only be the actor's own")
	}
	if st.TenantID != a.item.TenantID {
		return true, errs.E(errs.NotFound, "the poll is not on this site")
	}
	_, err = polls.Vote(ctx, federation.Vote{StatusID: st.ID, AccountID: a.actor.ID, Choices: []int{choice},
		URI: v.ID, Incremental: true})
	return true, err
}
