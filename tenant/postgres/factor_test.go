package postgres

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/factor"
)

// Issue 18 (settings, two-factor sign-in): enrolling, the code that
// confirms it, the second step of a sign-in (a challenge bound to its
// tenant and expiry, each code once, recovery codes once), and switching
// it off; the secret is stored sealed, never in the clear.
func TestIssue18TwoFactorSignIn(t *testing.T) {
	w := newOAuthWorld(t)
	ctx := context.Background()
	store := NewFactorStore(w.db)
	f := &factor.Service{Store: store, Now: w.clock.Now}
	code := func(secret string, at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	if on, err := f.Required(ctx, w.aliceA); err != nil || on {
		t.Fatalf("required before enrolling: %v %v", on, err)
	}
	if err := f.Begin(ctx, w.aliceA); err != nil {
		t.Fatal(err)
	}
	st, err := f.Status(ctx, w.aliceA, "a.example", "alice@a.example")
	if err != nil || st.Enabled || st.Enrolment == nil || !strings.HasPrefix(st.Enrolment.URI, "otpauth://totp/a.example:alice@a.example?") {
		t.Fatalf("status while enrolling: %+v %v", st, err)
	}
	secret := st.Enrolment.Secret
	var raw []byte
	if err := w.db.QueryRow(ctx, `select pending_sealed from account_factors where account_id = $1`, w.aliceA).Scan(&raw); err != nil ||
		bytes.Contains(raw, []byte(secret)) {
		t.Fatalf("the pending secret is not sealed: %q %v", raw, err)
	}
	if on, _ := f.Required(ctx, w.aliceA); on {
		t.Fatal("a pending secret already asks for codes")
	}
	if _, err := f.Confirm(ctx, w.aliceA, "000000"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a wrong confirming code: %v", err)
	}
	now := w.clock.Now()
	recovery, err := f.Confirm(ctx, w.aliceA, code(secret, now))
	if err != nil || len(recovery) != factor.RecoveryCodes {
		t.Fatalf("confirm: %v %v", recovery, err)
	}
	if on, _ := f.Required(ctx, w.aliceA); !on {
		t.Fatal("confirmed, yet no code asked")
	}

	// The second step: the challenge of tenant A, a code once.
	ch, err := f.Challenge(ctx, w.tenantA.ID, w.aliceA)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Add(30 * time.Second)
	now = w.clock.Now()
	if _, err := f.Answer(ctx, w.tenantB.ID, ch, code(secret, now)); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("tenant A's challenge answered on tenant B: %v", err)
	}
	if _, err := f.Answer(ctx, w.tenantA.ID, ch[:len(ch)-2]+"AA", code(secret, now)); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("an altered challenge: %v", err)
	}
	if _, err := f.Answer(ctx, w.tenantA.ID, ch, "123456"); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("a wrong code: %v", err)
	}
	if id, err := f.Answer(ctx, w.tenantA.ID, ch, code(secret, now)); err != nil || id != w.aliceA {
		t.Fatalf("the right code: %d %v", id, err)
	}
	if _, err := f.Answer(ctx, w.tenantA.ID, ch, code(secret, now)); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("a code used twice: %v", err)
	}
	if id, err := f.Answer(ctx, w.tenantA.ID, ch, recovery[0]); err != nil || id != w.aliceA {
		t.Fatalf("a recovery code: %d %v", id, err)
	}
	if _, err := f.Answer(ctx, w.tenantA.ID, ch, recovery[0]); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("a recovery code used twice: %v", err)
	}
	w.clock.Add(factor.ChallengeLifetime)
	if _, err := f.Answer(ctx, w.tenantA.ID, ch, code(secret, w.clock.Now())); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("an expired challenge: %v", err)
	}
	// Another account's factor is untouched; switching off takes a code.
	if on, _ := f.Required(ctx, w.aliceB); on {
		t.Error("alice on B got A's factor")
	}
	if err := f.Disable(ctx, w.aliceA, "nonsense"); !errs.Is(err, errs.Unauthorized) {
		t.Errorf("disable without a code: %v", err)
	}
	if err := f.Disable(ctx, w.aliceA, recovery[1]); err != nil {
		t.Fatal(err)
	}
	if on, _ := f.Required(ctx, w.aliceA); on || count(t, w.db, "account_factors") != 0 {
		t.Error("still on after disabling")
	}
}
