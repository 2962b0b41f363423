package migration

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

type fakeMover struct{ calls []string }

func (m *fakeMover) AddAlias(_ context.Context, _ *federation.Account, acct string) (string, error) {
	m.calls = append(m.calls, "alias "+acct)
	return "https://old.example/users/me", nil
}

func (m *fakeMover) RemoveAlias(_ context.Context, _ *federation.Account, acct string) ([]string, error) {
	m.calls = append(m.calls, "unalias "+acct)
	return nil, nil
}

func (m *fakeMover) Move(_ context.Context, _ *federation.Account, acct string) (string, error) {
	m.calls = append(m.calls, "move "+acct)
	return "https://new.example/users/me", nil
}

func TestMoveOnceAndNeedsATarget(t *testing.T) {
	ctx := context.Background()
	m := &fakeMover{}
	s := &Service{Mover: m}
	if _, err := s.Move(ctx, &federation.Account{ID: 1}, "  "); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("no target: %v", err)
	}
	moved := &federation.Account{ID: 1, MovedTo: "https://elsewhere.example/users/me"}
	if _, err := s.Move(ctx, moved, "me@new.example"); errs.CodeOf(err) != errs.Invalid || len(m.calls) != 0 {
		t.Errorf("moving twice: %v %v", err, m.calls)
	}
	after, err := s.Move(ctx, &federation.Account{ID: 1}, " me@new.example ")
	if err != nil || after.MovedTo != "https://new.example/users/me" || m.calls[0] != "move me@new.example" {
		t.Errorf("move: %+v %v %v", after, err, m.calls)
	}
}

func TestAliasesAreAddedOnce(t *testing.T) {
	ctx := context.Background()
	s := &Service{Mover: &fakeMover{}}
	me := &federation.Account{ID: 1, AlsoKnownAs: []string{"https://old.example/users/me"}}
	after, err := s.AddAlias(ctx, me, "me@old.example")
	if err != nil || len(after.AlsoKnownAs) != 1 {
		t.Errorf("alias twice: %v %v", after.AlsoKnownAs, err)
	}
	after, _ = s.AddAlias(ctx, &federation.Account{ID: 1}, "me@old.example")
	if len(after.AlsoKnownAs) != 1 {
		t.Errorf("alias: %v", after.AlsoKnownAs)
	}
	if _, err := s.RemoveAlias(ctx, me, ""); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("no alias named: %v", err)
	}
}
