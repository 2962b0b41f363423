package activitypub

import (
	"strings"

	"github.com/roost-social/roost/federation"
)

// isPublic reports the special Public address in any of its spellings.
func isPublic(addr string) bool {
	return addr == federation.PublicCollection || publicAliases[addr]
}

// VisibilityOf maps addressing to Mastodon's visibility: Public in to is
// public, Public in cc unlisted, a followers collection followers-only
// (private), anything else direct.
func VisibilityOf(to, cc []string, followers string) federation.Visibility {
	for _, a := range to {
		if isPublic(a) {
			return federation.Public
		}
	}
	for _, a := range cc {
		if isPublic(a) {
			return federation.Unlisted
		}
	}
	for _, a := range append(append([]string{}, to...), cc...) {
		if (followers != "" && a == followers) || strings.HasSuffix(a, "/followers") {
			return federation.Private
		}
	}
	return federation.Direct
}
