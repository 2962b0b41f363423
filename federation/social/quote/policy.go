// Package quote is the rules of quote posts as Mastodon 4.5 has them
// (FEP-044f): who may quote a post, quoting one, the quotes of one's own
// post and revoking them, and answering other servers' quote requests.
package quote

import (
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Approval is how a post's quote policy applies to one account
// (Mastodon's QuoteApproval current_user).
type Approval string

// The approvals; Roost approves automatically or not at all (as Mastodon
// 4.5 does for its own posts: no manual review).
const (
	Automatic Approval = "automatic"
	Manual    Approval = "manual"
	Denied    Approval = "denied"
	Unknown   Approval = "unknown"
)

// Decide says whether quoterID may quote st: never a direct post; always
// its author otherwise; a followers-only post nobody else; else its
// policy (follows: quoterID follows the author). An unknown policy is the
// author's alone.
func Decide(st *federation.Status, quoterID int64, follows bool) Approval {
	switch {
	case st.Visibility == federation.Direct:
		return Denied
	case quoterID != 0 && quoterID == st.AccountID:
		return Automatic
	case st.Visibility == federation.Private:
		return Denied
	}
	switch st.QuotePolicy {
	case federation.QuotePublic:
		return Automatic
	case federation.QuoteFollowers:
		if follows {
			return Automatic
		}
	}
	return Denied
}

// Lists are who a policy approves automatically and by hand, in
// Mastodon's words (QuoteApproval automatic and manual).
func Lists(st *federation.Status) (automatic, manual []string) {
	automatic, manual = []string{}, []string{}
	if st.Visibility == federation.Private || st.Visibility == federation.Direct {
		return automatic, manual
	}
	switch st.QuotePolicy {
	case federation.QuotePublic:
		automatic = append(automatic, "public")
	case federation.QuoteFollowers:
		automatic = append(automatic, "followers")
	}
	return automatic, manual
}

// PolicyFor settles the policy of a new or edited post: requested, or
// public by default; followers-only and direct posts are nobody's to quote,
// whatever was asked.
func PolicyFor(v federation.Visibility, requested string) (federation.QuotePolicy, error) {
	p := federation.QuotePolicy(requested)
	switch p {
	case "":
		p = federation.QuotePublic
	case federation.QuotePublic, federation.QuoteFollowers, federation.QuoteNobody:
	default:
		return "", errs.E(errs.Invalid, "quote_approval_policy must be public, followers or nobody")
	}
	if v == federation.Private || v == federation.Direct {
		p = federation.QuoteNobody
	}
	return p, nil
}
