package billing

import "testing"

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
