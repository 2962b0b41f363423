package delivery

import (
	"hash/maphash"
	"sync"
)

// hostSlots counts each host's deliveries in flight, to cap them at
// PerHost. A host leaves the count when its last delivery ends, so memory
// follows the deliveries in flight, not every host ever delivered to; the
// count is split in shards by host so a fan-out to thousands of hosts
// does not queue its whole pool on one lock.
type hostSlots struct {
	seed   maphash.Seed
	shards [slotShards]slotShard
}

const slotShards = 16

type slotShard struct {
	mu sync.Mutex
	n  map[string]int
}

func newHostSlots() *hostSlots {
	s := &hostSlots{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].n = map[string]int{}
	}
	return s
}

func (s *hostSlots) shard(host string) *slotShard {
	return &s.shards[maphash.String(s.seed, host)%slotShards]
}

// take takes one of host's max slots without waiting, returning its
// release; false when all are taken.
func (s *hostSlots) take(host string, max int) (func(), bool) {
	sh := s.shard(host)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.n[host] >= max {
		return nil, false
	}
	sh.n[host]++
	return func() {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		if sh.n[host]--; sh.n[host] <= 0 {
			delete(sh.n, host)
		}
	}, true
}
