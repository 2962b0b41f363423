package delivery

import (
	"bytes"
	"sync"

	"github.com/roost-social/roost/federation/signature"
)

// digests remembers the body digest of recent activities, so a fan-out
// hashes its body once, not once per inbox (issue 21). An entry is used
// only for the very body it was computed from: rows of one activity carry
// one body, and comparing it costs a fraction of hashing it again.
type digests struct {
	mu sync.Mutex
	m  map[string]digestEntry // activity id → its body and digest
}

type digestEntry struct {
	body   []byte
	digest *signature.Digest
}

// maxDigests bounds the activities remembered; past it the memory starts
// over (a forgotten activity costs one more hash).
const maxDigests = 1024

// of is body's digest, as sent for activity id. A delivery always has a
// body: fetch.Post sends a nil one as empty, and so it is hashed.
func (c *digests) of(id string, body []byte) *signature.Digest {
	if body == nil {
		body = []byte{}
	}
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && bytes.Equal(e.body, body) {
		return e.digest
	}
	e = digestEntry{body: body, digest: signature.DigestOf(body)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDigests {
		c.m = map[string]digestEntry{}
	}
	c.m[id] = e
	c.mu.Unlock()
	return e.digest
}
