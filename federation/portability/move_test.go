package portability_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// events is the order in which fakes saw calls.
type events []string

func (e *events) add(format string, a ...any) { *e = append(*e, fmt.Sprintf(format, a...)) }

// moveWorld is a Mover on in-file fakes of its ports.
type moveWorld struct {
	ev      events
	sites   map[string]*tenant.Site
	accts   []*federation.Account // local accounts, by domain
	follows map[int64][]federation.RemoteFollow
	ghosts  []*federation.Account // unannounced moves
	nextID  int64
	failOn  string // an event prefix whose call fails once
	audited []string
}

func newMoveWorld() *moveWorld {
	return &moveWorld{nextID: 100, follows: map[int64][]federation.RemoteFollow{}, sites: map[string]*tenant.Site{
		"old.example":   {TenantID: 1, Domain: "old.example"},
		"new.example":   {TenantID: 1, Domain: "new.example"},
		"other.example": {TenantID: 2, Domain: "other.example"},
		"roost.example": {TenantID: 1, Domain: "roost.example"},
	}}
}

func (w *moveWorld) mover() *portability.Mover {
	return &portability.Mover{Store: moveStore{w}, Sites: moveSites{w}, Audit: moveAudit{w}, Sender: moveSender{w},
		Scheme: "https", Reserved: func(names ...string) error {
			for _, n := range names {
				if n == "roost.example" {
					return errs.E(errs.Invalid, "%s is reserved", n)
				}
			}
			return nil
		}}
}

// fail makes the call named by prefix fail once.
func (w *moveWorld) fail(name string) error {
	if w.failOn != "" && strings.HasPrefix(name, w.failOn) {
		w.failOn = ""
		return errors.New("injected failure: " + name)
	}
	return nil
}

type moveSites struct{ w *moveWorld }

func (s moveSites) SiteByHost(_ context.Context, host string) (*tenant.Site, error) {
	if site, ok := s.w.sites[host]; ok {
		return site, nil
	}
	return nil, errs.E(errs.NotFound, "no site %s", host)
}

type moveAudit struct{ w *moveWorld }

func (a moveAudit) Audit(_ context.Context, by, action, target string, tenantID int64, detail string) error {
	a.w.audited = append(a.w.audited, fmt.Sprintf("%s %s %s %d %s", by, action, target, tenantID, detail))
	return nil
}

type moveStore struct{ w *moveWorld }

func (s moveStore) AccountByUsername(_ context.Context, tenantID int64, domain, username string) (*federation.Account, error) {
	for _, a := range s.w.accts {
		if a.TenantID == tenantID && a.Domain == domain && a.Username == username {
			return a, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no account")
}

func (s moveStore) LocalAccountsOn(_ context.Context, tenantID int64, domain string) ([]*federation.Account, error) {
	var out []*federation.Account
	for _, a := range s.w.accts {
		if a.TenantID == tenantID && a.Domain == domain && a.MovedTo == "" {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s moveStore) RehomeAccount(_ context.Context, r federation.Rehome) (*federation.Account, *federation.Account, error) {
	s.w.ev.add("rehome %d %s -> %s (%s)", r.AccountID, r.FromURI, r.ToURI, r.Kind)
	for _, a := range s.w.accts {
		if a.ID != r.AccountID {
			continue
		}
		s.w.nextID++
		ghost := &federation.Account{ID: s.w.nextID, TenantID: a.TenantID, Domain: a.Domain, Username: a.Username, MovedTo: r.ToURI}
		a.TenantID, a.Domain, a.Username = r.ToTenantID, r.ToDomain, r.ToUsername
		s.w.ghosts = append(s.w.ghosts, ghost)
		return ghost, a, nil
	}
	return nil, nil, errs.E(errs.NotFound, "no such local account")
}

func (s moveStore) RemoteFollowing(_ context.Context, accountID int64) ([]federation.RemoteFollow, error) {
	return s.w.follows[accountID], nil
}

func (s moveStore) SetFollowURI(_ context.Context, followID int64, uri string) error {
	s.w.ev.add("set-uri %d %s", followID, uri)
	return nil
}

func (s moveStore) MarkMoveAnnounced(_ context.Context, ghostID int64) error {
	s.w.ev.add("announced %d", ghostID)
	s.w.ghosts = deleteAccount(s.w.ghosts, ghostID)
	return nil
}

func (s moveStore) UnannouncedMoves(context.Context, int64) ([]*federation.Account, error) {
	return append([]*federation.Account(nil), s.w.ghosts...), nil
}

func deleteAccount(as []*federation.Account, id int64) []*federation.Account {
	var out []*federation.Account
	for _, a := range as {
		if a.ID != id {
			out = append(out, a)
		}
	}
	return out
}

type moveSender struct{ w *moveWorld }

func (s moveSender) Move(_ context.Context, local *federation.Account, target string) (string, error) {
	name := fmt.Sprintf("move %d -> %s", local.ID, target)
	if err := s.w.fail("move"); err != nil {
		return "", err
	}
	s.w.ev.add("%s", name)
	return target, nil
}

func (s moveSender) Refollow(_ context.Context, ghost, moved *federation.Account, f federation.RemoteFollow, newID string) error {
	s.w.ev.add("refollow %d->%d %s follow %s undo %s", ghost.ID, moved.ID, f.TargetURI, newID, f.URI)
	return nil
}

// TestIssue15Finding1MoveDomainRefollowsThroughOutbox: a change of domain
// rehomes each account, announces its Move from the ghost, then for each
// remote follow gives the row its new Follow id before the outbox sends
// the Follow and the Undo of the old one (the Accept names the new id).
func TestIssue15Finding1MoveDomainRefollowsThroughOutbox(t *testing.T) {
	w := newMoveWorld()
	w.accts = []*federation.Account{{ID: 7, TenantID: 1, Domain: "old.example", Username: "alice"}}
	w.follows[7] = []federation.RemoteFollow{
		{ID: 1, URI: "https://old.example/users/alice#follows/a", TargetURI: "https://b.example/users/bob", Inbox: "https://b.example/inbox"},
		{ID: 2, URI: "https://old.example/users/alice#follows/b", TargetURI: "https://c.example/users/carol", Inbox: "https://c.example/inbox"},
	}
	lines, err := w.mover().MoveDomain(context.Background(), 1, "old.example", "new.example", "op@mail.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "@alice@old.example -> @alice@new.example" {
		t.Fatalf("lines: %q", lines)
	}
	if len(w.ev) != 7 {
		t.Fatalf("events: %q", w.ev)
	}
	want := []string{
		"rehome 7 https://old.example/users/alice -> https://new.example/users/alice (domain)",
		"move 101 -> https://new.example/users/alice",
		"announced 101",
	}
	for i, e := range want {
		if w.ev[i] != e {
			t.Fatalf("event %d: %q, want %q (all: %q)", i, w.ev[i], e, w.ev)
		}
	}
	for i, f := range w.follows[7] {
		set, sent := w.ev[3+2*i], w.ev[4+2*i]
		id, ok := strings.CutPrefix(set, fmt.Sprintf("set-uri %d ", f.ID))
		if !ok || !strings.HasPrefix(id, "https://new.example/users/alice#follows/") {
			t.Fatalf("follow %d: %q", f.ID, set)
		}
		if want := fmt.Sprintf("refollow 101->7 %s follow %s undo %s", f.TargetURI, id, f.URI); sent != want {
			t.Fatalf("follow %d sent %q, want %q", f.ID, sent, want)
		}
	}
	if len(w.audited) != 1 || w.audited[0] != "op@mail.test tenant.move_domain old.example -> new.example 1 1 accounts moved" {
		t.Fatalf("audit: %q", w.audited)
	}
}

// A refused change of domain changes nothing.
func TestMoveDomainRefusals(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"unknown target", "old.example", "nowhere.example", "add it first"},
		{"other tenant", "old.example", "other.example", "must both be verified domains of tenant 1"},
		{"same domain", "old.example", "old.example", "already lives on old.example"},
		{"reserved", "old.example", "roost.example", "reserved"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newMoveWorld()
			w.accts = []*federation.Account{{ID: 7, TenantID: 1, Domain: "old.example", Username: "alice"}}
			_, err := w.mover().MoveDomain(context.Background(), 1, c.from, c.to, "cli")
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), c.want) {
				t.Fatalf("err %v, want Invalid %q", err, c.want)
			}
			if len(w.ev) != 0 || len(w.audited) != 0 {
				t.Fatalf("changed: %q %q", w.ev, w.audited)
			}
		})
	}
}

// A run that died after the move but before its announcement is finished
// by running the command again: the ghost's Move is sent then.
func TestMoveDomainRerunAnnouncesPending(t *testing.T) {
	w := newMoveWorld()
	w.accts = []*federation.Account{{ID: 7, TenantID: 1, Domain: "old.example", Username: "alice"}}
	w.failOn = "move"
	m := w.mover()
	if _, err := m.MoveDomain(context.Background(), 1, "old.example", "new.example", "cli"); err == nil ||
		!strings.Contains(err.Error(), "announce the move of @alice@old.example") {
		t.Fatalf("first run: %v", err)
	}
	if len(w.ghosts) != 1 || len(w.audited) != 0 {
		t.Fatalf("after the failed run: ghosts %d, audit %q", len(w.ghosts), w.audited)
	}
	lines, err := m.MoveDomain(context.Background(), 1, "old.example", "new.example", "cli")
	if err != nil || len(lines) != 0 {
		t.Fatalf("second run: %q %v", lines, err)
	}
	if len(w.ghosts) != 0 || w.ev[len(w.ev)-1] != "announced 101" {
		t.Fatalf("not announced: %q", w.ev)
	}
	if len(w.audited) != 1 || !strings.HasSuffix(w.audited[0], "0 accounts moved") {
		t.Fatalf("audit: %q", w.audited)
	}
}

// roost account move: handles are checked before anything is looked up;
// the move is audited under the handles given.
func TestMoveAccount(t *testing.T) {
	for _, c := range []struct{ from, to, want string }{
		{"alice", "alice@new.example", "usage: roost account move"},
		{"alice@old.example", "new.example", "usage: roost account move"},
		{"alice@old.example", "al-ice@new.example", "not a valid username"},
	} {
		if _, err := portability.ParseAccountMove(c.from, c.to); !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), c.want) {
			t.Errorf("%s -> %s: %v, want %q", c.from, c.to, err, c.want)
		}
	}
	w := newMoveWorld()
	w.accts = []*federation.Account{{ID: 7, TenantID: 1, Domain: "old.example", Username: "alice"}}
	mv, err := portability.ParseAccountMove("@alice@old.example", "al@other.example")
	if err != nil {
		t.Fatal(err)
	}
	line, err := w.mover().MoveAccount(context.Background(), mv, "cli")
	if err != nil || line != "@alice@old.example -> @al@other.example" {
		t.Fatalf("%q %v", line, err)
	}
	if w.ev[0] != "rehome 7 https://old.example/users/alice -> https://other.example/users/al (account)" {
		t.Fatalf("events: %q", w.ev)
	}
	if len(w.audited) != 1 || w.audited[0] != "cli account.move @alice@old.example -> al@other.example 1 " {
		t.Fatalf("audit: %q", w.audited)
	}
	mv, _ = portability.ParseAccountMove("bob@old.example", "bob@roost.example")
	if _, err := w.mover().MoveAccount(context.Background(), mv, "cli"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("to a reserved name: %v", err)
	}
}
