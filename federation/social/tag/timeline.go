package tag

import "github.com/roost-social/roost/federation"

// Modes are a hashtag timeline's any[], all[] and none[] as sent.
type Modes struct {
	Any, All, None []string
}

// TimelineFilter reads a hashtag timeline's modes into a filter: each
// list normalised, names that are no hashtag dropped, duplicates once,
// at most MaxPerMode each (as Mastodon takes the first four). ok is
// false when all[] names something no post can carry (a non-hashtag):
// the timeline is empty.
func TimelineFilter(m Modes, base federation.TimelineFilter) (federation.TimelineFilter, bool) {
	f := base
	f.Any, _ = names(m.Any)
	all, bad := names(m.All)
	f.All = all
	f.None, _ = names(m.None)
	return f, !bad
}

// names normalises up to MaxPerMode hashtags; bad reports one that is no
// hashtag name among them.
func names(raw []string) (out []string, bad bool) {
	seen := map[string]bool{}
	for _, r := range raw {
		if len(out) == MaxPerMode {
			break
		}
		n, ok := Name(r)
		if !ok {
			bad = bad || r != ""
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, bad
}
