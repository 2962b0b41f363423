package delivery

import (
	"testing"
	"time"
)

// Soak finding 1 (seed 7): a few seconds of black hole between the
// workers and one remote left its deliveries "circuit open" for the rest
// of the run. Twenty attempts to the host were in flight when it died;
// each failure counted, and the cool-down doubled per failure in flight,
// not per trip — an hour at once. Failures while the breaker is open add
// nothing, and the cool-down doubles per trip.
func TestSoakFinding1BreakerCoolDownPerTripNotPerAttemptInFlight(t *testing.T) {
	var b breakers
	t0 := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	for i := range 20 {
		b.failure("r0.test", t0.Add(time.Duration(i)*time.Millisecond))
	}
	until, open := b.open("r0.test", t0.Add(time.Second))
	if !open || until.Sub(t0) > time.Minute+time.Second {
		t.Fatalf("after one burst of 20 failures the host is shut out until %s (%s); want the first cool-down, a minute", until, until.Sub(t0))
	}
	// The cool-down over, the next failure (the probe) trips it again,
	// for twice as long.
	t1 := until.Add(time.Millisecond)
	if _, open := b.open("r0.test", t1); open {
		t.Fatal("still open after its cool-down")
	}
	b.failure("r0.test", t1)
	if until2, _ := b.open("r0.test", t1); until2.Sub(t1) != 2*time.Minute {
		t.Fatalf("second cool-down %s, want 2m", until2.Sub(t1))
	}
	// A success forgets the host.
	b.success("r0.test")
	if _, open := b.open("r0.test", t1); open {
		t.Fatal("open after a success")
	}
}
