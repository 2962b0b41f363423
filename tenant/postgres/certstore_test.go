package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

// Directory semantics are bytewise ranges: "a/b" is under "a", but "a0",
// "ab" and "a.b" are not, in any database collation.
func TestCertStoreKV(t *testing.T) {
	ctx := context.Background()
	s := NewCertStore(testenv.DB(t))
	for _, k := range []string{"a/b/c.crt", "a/b/c.key", "a/d", "a0", "ab/x", "a.b/y", "A/z"} {
		if err := s.Put(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "a/d", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "a/d"); err != nil || string(v) != "new" {
		t.Fatalf("Get a/d = %q, %v", v, err)
	}
	if _, err := s.Get(ctx, "a/b"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Get of a directory: %v, want NotFound", err)
	}
	keys := func(prefix string) string {
		es, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, e := range es {
			if e.Value != nil {
				t.Fatalf("List returned a value for %s", e.Key)
			}
			ks = append(ks, e.Key)
		}
		return strings.Join(ks, " ")
	}
	if got := keys("a"); got != "a/b/c.crt a/b/c.key a/d" {
		t.Fatalf("List(a) = %q", got)
	}
	if got := keys(""); got != "A/z a.b/y a/b/c.crt a/b/c.key a/d a0 ab/x" {
		t.Fatalf("List() = %q (bytewise order expected)", got)
	}
	vals, err := s.Values(ctx, "a/b")
	if err != nil || len(vals) != 2 || string(vals[0].Value) != "v:a/b/c.crt" || vals[0].Size != int64(len("v:a/b/c.crt")) {
		t.Fatalf("Values(a/b) = %+v, %v", vals, err)
	}

	file, err := s.Stat(ctx, "a/b/c.crt")
	if err != nil || file.Dir || file.Size != int64(len("v:a/b/c.crt")) || time.Since(file.Modified) > time.Minute {
		t.Fatalf("Stat file = %+v, %v", file, err)
	}
	dir, err := s.Stat(ctx, "a/b")
	if err != nil || !dir.Dir || dir.Key != "a/b" {
		t.Fatalf("Stat dir = %+v, %v", dir, err)
	}
	for _, missing := range []string{"a/b/c", "a/", "b", "a/bb"} {
		if _, err := s.Stat(ctx, missing); !errs.Is(err, errs.NotFound) {
			t.Fatalf("Stat(%q): %v, want NotFound", missing, err)
		}
	}

	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "nothing/here"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if got := keys(""); got != "A/z a.b/y a0 ab/x" {
		t.Fatalf("after Delete(a): %q", got)
	}
}

// A lock is exclusive until released or expired; only its holder's token
// extends or releases it.
func TestCertStoreLocks(t *testing.T) {
	ctx := context.Background()
	s := NewCertStore(testenv.DB(t))
	try := func(token string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.TryLock(ctx, "issue_cert_a.example", token, ttl)
		if err != nil || got != want {
			t.Fatalf("TryLock(%s) = %v, %v; want %v", token, got, err, want)
		}
	}
	try("one", time.Hour, true)
	try("two", time.Hour, false)
	try("one", time.Hour, false) // not re-entrant
	if err := s.Unlock(ctx, "issue_cert_a.example", "two"); err != nil {
		t.Fatal(err)
	}
	try("two", time.Hour, false) // another token's Unlock released nothing
	if held, err := s.ExtendLock(ctx, "issue_cert_a.example", "two", time.Hour); err != nil || held {
		t.Fatalf("ExtendLock by a non-holder = %v, %v", held, err)
	}
	if err := s.Unlock(ctx, "issue_cert_a.example", "one"); err != nil {
		t.Fatal(err)
	}
	try("two", time.Hour, true)
	// "two" crashed: nobody extends it, and it frees itself once its time
	// is up — moved into the past here rather than waited for, so a busy
	// machine cannot let it expire early (issue 15, finding 10).
	try("three", time.Hour, false)
	if _, err := s.db.Exec(ctx, `update cert_locks set expires_at = now() - interval '1 second' where name = 'issue_cert_a.example'`); err != nil {
		t.Fatal(err)
	}
	try("three", time.Hour, true)
	if held, err := s.ExtendLock(ctx, "issue_cert_a.example", "two", time.Hour); err != nil || held {
		t.Fatalf("the expired holder still extends: %v, %v", held, err)
	}
	if held, err := s.ExtendLock(ctx, "issue_cert_a.example", "three", time.Hour); err != nil || !held {
		t.Fatalf("the holder cannot extend: %v, %v", held, err)
	}
}
