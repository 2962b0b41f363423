// Package oauth is OAuth 2 as Mastodon apps speak it, per tenant: apps,
// authorization codes (PKCE S256), access and refresh tokens, scopes.
// Tokens are stored hashed and bound to the tenant that issued them.
package oauth

import (
	"slices"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// Scopes is a set of OAuth scopes, sorted and without duplicates.
type Scopes []string

// granular lists the scopes Mastodon knows, top-level first.
var known = map[string]bool{
	"read": true, "write": true, "follow": true, "push": true, "profile": true,
	"admin:read": true, "admin:write": true,
}

var granularRead = []string{"accounts", "blocks", "bookmarks", "favourites", "filters", "follows",
	"lists", "mutes", "notifications", "search", "statuses"}
var granularWrite = []string{"accounts", "blocks", "bookmarks", "conversations", "favourites", "filters",
	"follows", "lists", "media", "mutes", "notifications", "reports", "statuses"}

func init() {
	for _, g := range granularRead {
		known["read:"+g] = true
	}
	for _, g := range granularWrite {
		known["write:"+g] = true
	}
	for _, g := range []string{"accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks", "canonical_email_blocks"} {
		known["admin:read:"+g] = true
		known["admin:write:"+g] = true
	}
}

// DefaultScopes is what an app or token gets when it asks for none.
var DefaultScopes = Scopes{"read"}

// ParseScopes reads a space- (or '+'-) separated scope list. An empty
// list is DefaultScopes; an unknown scope is an error naming it.
func ParseScopes(s string) (Scopes, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '+' || r == ',' })
	if len(fields) == 0 {
		return slices.Clone(DefaultScopes), nil
	}
	out := make(Scopes, 0, len(fields))
	for _, f := range fields {
		if !known[f] {
			return nil, errs.E(errs.Invalid, "unknown scope %q", f)
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// String is the space-separated form.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Allows reports whether the set grants scope: held exactly, or through
// its parent ("read" grants "read:statuses", "admin:read" grants
// "admin:read:accounts"), or through the legacy "follow" scope, which
// grants reading and writing follows, blocks and mutes.
func (s Scopes) Allows(scope string) bool {
	for _, have := range s {
		if have == scope || strings.HasPrefix(scope, have+":") {
			return true
		}
		if have == "follow" {
			switch scope {
			case "read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes":
				return true
			}
		}
	}
	return false
}

// Within reports whether every scope of s is granted by parent: a token
// may never hold more than its app registered.
func (s Scopes) Within(parent Scopes) bool {
	for _, sc := range s {
		if !parent.Allows(sc) {
			return false
		}
	}
	return true
}

// SupportedScopes lists every scope ParseScopes accepts, top-level scopes
// first, then the granular ones, each group sorted.
func SupportedScopes() []string {
	var top, granular []string
	for s := range known {
		if strings.Count(s, ":") == 0 || s == "admin:read" || s == "admin:write" {
			top = append(top, s)
		} else {
			granular = append(granular, s)
		}
	}
	slices.Sort(top)
	slices.Sort(granular)
	return append(top, granular...)
}
