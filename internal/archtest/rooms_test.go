package archtest

import (
	"strings"
	"testing"
)

// Rooms inside federation: the ActivityPub machinery and the social core
// beside it, each reaching the other only through the ports of the root
// package federation (issue 15, finding 4). Rules hold over transitive
// dependencies of non-test code: a detour through a third package breaks
// a room as surely as a direct import.

// machinery is the ActivityPub machinery: protocol, signatures, the safe
// client, remote actors, receiving, sending and delivering.
var machinery = []string{"federation/activitypub", "federation/signature", "federation/fetch",
	"federation/actors", "federation/inbox", "federation/outbox", "federation/delivery"}

// roomRules says, per package prefix, which of our packages it must not
// depend on, and why.
var roomRules = []struct {
	from   []string
	banned []string
	why    string
}{
	{[]string{"federation/outbox"}, []string{"federation/inbox"},
		"sending does not reach into receiving: remote actors are federation/actors, local accounts and the sender are ports of federation"},
	{[]string{"federation/inbox"}, []string{"federation/outbox"},
		"receiving does not reach into sending"},
	{machinery, []string{"api"},
		"the ActivityPub machinery serves handlers, never the other way round"},
	{[]string{"federation/social"}, []string{"federation/inbox", "federation/delivery"},
		"the social core uses the machinery's ports (federation.Sender, federation.Locals), not its internals"},
}

func TestRoomsDoNotImportEachOther(t *testing.T) {
	checked := map[string]bool{}
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, rule := range roomRules {
			if !matchesRoom(r, rule.from) {
				continue
			}
			checked[strings.Join(rule.from, ",")] = true
			for _, d := range p.Deps {
				if !strings.HasPrefix(d, mod+"/") {
					continue
				}
				if dep := rel(d); matchesRoom(dep, rule.banned) {
					t.Errorf("%s depends on %s: %s", r, dep, rule.why)
				}
			}
		}
	}
	// A rule that matches no package (a room renamed) checks nothing.
	for _, rule := range roomRules {
		if !checked[strings.Join(rule.from, ",")] {
			t.Errorf("no package matches %v: update the rule", rule.from)
		}
	}
}

// matchesRoom reports whether package r is one of prefixes or below one.
func matchesRoom(r string, prefixes []string) bool {
	for _, p := range prefixes {
		if r == p || strings.HasPrefix(r, p+"/") {
			return true
		}
	}
	return false
}
