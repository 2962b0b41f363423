package delivery

import (
	"fmt"
	"testing"
)

// Issue 21 (delivery): the per-host caps were one channel per host ever
// delivered to, kept for the life of the worker, behind one lock. The
// caps hold, and a host is forgotten once its last delivery ends.
func TestIssue21DeliveryHostSlotsBoundedAndCapped(t *testing.T) {
	s := newHostSlots()
	var releases []func()
	for i := range 1000 {
		release, ok := s.take(fmt.Sprintf("h%d.test", i), 2)
		if !ok {
			t.Fatalf("h%d.test: no slot for a first delivery", i)
		}
		releases = append(releases, release)
	}
	a, ok := s.take("h0.test", 2)
	if !ok {
		t.Fatal("h0.test: no second slot")
	}
	if _, ok := s.take("h0.test", 2); ok {
		t.Fatal("h0.test: a third delivery in flight past a cap of 2")
	}
	a()
	if b, ok := s.take("h0.test", 2); !ok {
		t.Fatal("h0.test: a released slot not given back")
	} else {
		b()
	}
	for _, release := range releases {
		release()
	}
	for i := range s.shards {
		if n := len(s.shards[i].n); n != 0 {
			t.Fatalf("shard %d still holds %d hosts with nothing in flight", i, n)
		}
	}
}
