package bench

import (
	"bufio"
	"bytes"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/signature"
)

// Floors are a benchmark's limits measured in the same process and run
// as the benchmark itself: the CPU work no implementation can avoid,
// done on every core with nothing else. A ratio of a benchmark's time to
// its floor survives a loaded or a faster machine; absolute times do not.
type Floors struct {
	Sign, Verify time.Duration
}

// Limit is the least time the work can take on this machine. The sender
// and the receivers share the cores in these benchmarks, so their floors
// add up rather than overlap.
func (f Floors) Limit() time.Duration { return f.Sign + f.Verify }

// signFloor signs one request per inbox as a delivery does (cavage, the
// fetch client's headers, the activity's body, the sender's key) on every
// core, and returns the time taken and the signed requests as their
// receivers would read them.
func signFloor(key crypto.PrivateKey, keyID string, body []byte, inboxes []string) (time.Duration, []*http.Request, error) {
	reqs := make([]*http.Request, len(inboxes))
	for i, inbox := range inboxes {
		r, err := http.NewRequest(http.MethodPost, inbox, nil)
		if err != nil {
			return 0, nil, err
		}
		r.Header.Set("User-Agent", fetch.DefaultUserAgent)
		r.Header.Set("Accept", fetch.ActivityAccept)
		r.Header.Set("Content-Type", fetch.ActivityContentType)
		reqs[i] = r
	}
	now := time.Now()
	took, err := onEveryCore(len(reqs), func(i int) error {
		return signature.SignWith(signature.Cavage, reqs[i], body, keyID, key, now)
	})
	if err != nil {
		return 0, nil, err
	}
	for i, r := range reqs {
		if reqs[i], err = asReceived(r, body); err != nil {
			return 0, nil, err
		}
	}
	return took, reqs, nil
}

// verifyFloor checks and verifies every received request (with its
// body) on every core, as a receiver does once it has the sender's key.
func verifyFloor(reqs []*http.Request, bodies [][]byte, pub crypto.PublicKey) (time.Duration, error) {
	now := time.Now()
	return onEveryCore(len(reqs), func(i int) error {
		p, err := signature.Check(reqs[i], bodies[i], now)
		if err == nil {
			err = signature.Verify(reqs[i], p, pub)
		}
		return err
	})
}

// asReceived is r as a server reads it off the wire.
func asReceived(r *http.Request, body []byte) (*http.Request, error) {
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, err
	}
	return http.ReadRequest(bufio.NewReader(&buf))
}

// onEveryCore runs do(0) … do(n-1) on GOMAXPROCS goroutines and returns
// the wall time.
func onEveryCore(n int, do func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					first.CompareAndSwap(nil, fmt.Errorf("floor: %w", err))
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err, ok := first.Load().(error); ok {
		return 0, err
	}
	return took, nil
}

// ratio is seconds over the limit, rounded.
func ratio(took, limit time.Duration) float64 {
	return round3(took.Seconds() / max(limit.Seconds(), 1e-9))
}
