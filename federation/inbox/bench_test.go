package inbox_test

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
)

// discard is an Enqueuer that keeps nothing: the benchmarks measure
// verification (key lookup, parsed-key cache, signature), not the queue,
// which roost bench inbox measures with PostgreSQL.
type discard struct{}

func (discard) Enqueue(context.Context, int64, string, string, []byte) (bool, error) {
	return false, nil
}

// A delivery whose key is cached: the owner comes from memory, its key is
// parsed once, and only the RSA verification remains.
func BenchmarkReceiveCachedKey(b *testing.B) {
	f := newFixture(b)
	req := f.post(b, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/bench"))
	if err := f.svc.Receive(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	f.svc.Store = discard{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := f.svc.Receive(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// The owner lookup alone, cached in process.
func BenchmarkKeysLookupCached(b *testing.B) {
	f := newFixture(b)
	if _, err := f.svc.Keys.Lookup(context.Background(), eve+"#main-key"); err != nil {
		b.Fatal(err)
	}
	var owner *federation.Account
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		owner, _ = f.svc.Keys.Lookup(context.Background(), eve+"#main-key")
	}
	_ = owner
}
