package certs

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/roost-social/roost/internal/errs"
)

// Storage adapts a KV to certmagic.Storage, with expiring locks: a held
// lock is extended in the background every LockTTL/3, so a process that
// dies holding one frees it within LockTTL. Every node given the same KV
// shares certificates, ACME accounts and challenge tokens.
type Storage struct {
	kv KV
	// LockTTL is how long a lock outlives its holder's last sign of life.
	LockTTL time.Duration
	// LockPoll is the longest wait between two attempts of a blocked Lock.
	LockPoll time.Duration

	owner string
	seq   atomic.Uint64
	mu    sync.Mutex
	held  map[string]*heldLock
}

type heldLock struct {
	token string
	stop  chan struct{}
	once  sync.Once
}

func (h *heldLock) halt() { h.once.Do(func() { close(h.stop) }) }

// DefaultLockTTL is Storage's LockTTL unless set.
const DefaultLockTTL = time.Minute

var (
	_ certmagic.Storage          = (*Storage)(nil)
	_ certmagic.TryLocker        = (*Storage)(nil)
	_ certmagic.LockLeaseRenewer = (*Storage)(nil)
)

// NewStorage returns a Storage on kv.
func NewStorage(kv KV) *Storage {
	b := make([]byte, 8)
	cryptorand.Read(b)
	return &Storage{kv: kv, LockTTL: DefaultLockTTL, LockPoll: time.Second, owner: hex.EncodeToString(b), held: map[string]*heldLock{}}
}

// notExist makes a KV NotFound the fs.ErrNotExist certmagic checks for.
func notExist(key string, err error) error {
	if errs.Is(err, errs.NotFound) {
		return fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return err
}

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	return s.kv.Put(ctx, key, value)
}

// Load returns key's value, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	v, err := s.kv.Get(ctx, key)
	return v, notExist(key, err)
}

// Delete removes key and everything under it.
func (s *Storage) Delete(ctx context.Context, key string) error {
	return s.kv.Delete(ctx, key)
}

// Exists reports whether key is a file or a non-empty directory.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.kv.Stat(ctx, key)
	return err == nil
}

// Stat describes key.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	e, err := s.kv.Stat(ctx, key)
	if err != nil {
		return certmagic.KeyInfo{}, notExist(key, err)
	}
	return certmagic.KeyInfo{Key: key, Modified: e.Modified, Size: e.Size, IsTerminal: !e.Dir}, nil
}

// List returns the keys directly under dir (files and directories), or,
// when recursive, every file and directory below it.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	files, err := s.kv.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := make(map[string]bool, len(files))
	var out []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, f := range files {
		rest := strings.TrimPrefix(f.Key, prefix)
		if !recursive {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i]
			}
			add(prefix + rest)
			continue
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' {
				add(prefix + rest[:i])
			}
		}
		add(f.Key)
	}
	return out, nil
}

// Lock blocks until it holds the named lock or ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		// Jittered so nodes waiting for the same lock do not poll in step.
		wait := s.LockPoll/2 + rand.N(s.LockPoll/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for lock %s: %w", name, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// TryLock takes the named lock if it is free or expired.
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	token := fmt.Sprintf("%s-%d", s.owner, s.seq.Add(1))
	ok, err := s.kv.TryLock(ctx, name, token, s.LockTTL)
	if err != nil || !ok {
		return false, err
	}
	h := &heldLock{token: token, stop: make(chan struct{})}
	s.mu.Lock()
	if old := s.held[name]; old != nil {
		old.halt() // ours had expired (database unreachable for LockTTL) and was taken over
	}
	s.held[name] = h
	s.mu.Unlock()
	go s.keepAlive(name, h)
	return true, nil
}

// keepAlive extends a held lock until it is released or lost.
func (s *Storage) keepAlive(name string, h *heldLock) {
	t := time.NewTicker(max(s.LockTTL/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(s.LockTTL/3, time.Second))
		held, err := s.kv.ExtendLock(ctx, name, h.token, s.LockTTL)
		cancel()
		if err == nil && !held {
			return // expired and taken by another node; nothing left to extend
		}
	}
}

// Unlock releases a lock taken by Lock or TryLock.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("lock %s is not held by this process", name)
	}
	h.halt()
	return s.kv.Unlock(context.WithoutCancel(ctx), name, h.token)
}

// RenewLockLease makes a held lock last at least d from now (certmagic
// asks before each retry of a long obtain).
func (s *Storage) RenewLockLease(ctx context.Context, name string, d time.Duration) error {
	s.mu.Lock()
	h := s.held[name]
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("lock %s is not held by this process", name)
	}
	held, err := s.kv.ExtendLock(ctx, name, h.token, d)
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("lock %s expired and was taken by another holder", name)
	}
	return nil
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "roost shared certificate storage" }
