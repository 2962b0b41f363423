package billing

import (
	"strings"
	"testing"
	"time"
)

func TestBillingStateOfStripeStatus(t *testing.T) {
	for status, want := range map[string]State{
		"trialing": Trialing, "active": Active, "past_due": PastDue, "unpaid": PastDue,
		"incomplete": PastDue, "paused": PastDue, "canceled": Canceled, "incomplete_expired": Canceled,
	} {
		if got := StateOf(status); got != want {
			t.Errorf("StateOf(%q) = %s, want %s", status, got, want)
		}
	}
	for s, paying := range map[State]bool{Trialing: true, Active: true, Comped: true, PastDue: false, Canceled: false} {
		if s.Paying() != paying {
			t.Errorf("%s.Paying() = %v", s, !paying)
		}
	}
}

func TestReminderNamesTheEndOfGrace(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	since := now.Add(-10 * 24 * time.Hour)
	if r := Reminder(&Account{State: Active}, 30*24*time.Hour, now); r != "" {
		t.Fatalf("an active tenant is reminded: %q", r)
	}
	r := Reminder(&Account{State: PastDue, PastDueSince: &since}, 30*24*time.Hour, now)
	for _, want := range []string{"17 Nov 2026", "17 Dec 2026", "(20 days)", "Nothing is ever deleted"} {
		if !strings.Contains(r, want) {
			t.Fatalf("reminder %q lacks %q", r, want)
		}
	}
	if r := Reminder(&Account{State: PastDue, PastDueSince: &since}, 5*24*time.Hour, now); !strings.Contains(r, "grace period has ended") {
		t.Fatalf("after the grace period: %q", r)
	}
	if r := Reminder(&Account{State: PastDue, BillingSuspended: true}, 0, now); !strings.Contains(r, "export everything") {
		t.Fatalf("suspended: %q", r)
	}
}
