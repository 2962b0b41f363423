package peers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

type record struct {
	software, version, err string
	at, next               time.Time
}

// fakeStore is the hosts table: due hosts, failure counts, records.
type fakeStore struct {
	due       []string
	dueErr    error
	failures  map[string]int
	records   map[string]record
	recordErr map[string]error
}

func (s *fakeStore) DueNodeInfo(_ context.Context, _ time.Time, lease time.Duration, limit int) ([]string, error) {
	if lease != Lease || limit != Batch {
		return nil, errors.New("unexpected lease or limit")
	}
	return s.due, s.dueErr
}

func (s *fakeStore) NodeInfoFailures(_ context.Context, host string) (int, error) {
	return s.failures[host], nil
}

func (s *fakeStore) RecordNodeInfo(_ context.Context, host, sw, ver, fetchErr string, at, next time.Time) error {
	if err := s.recordErr[host]; err != nil {
		return err
	}
	s.records[host] = record{sw, ver, fetchErr, at, next}
	return nil
}

// fakeFetch serves documents by URL; anything else is unreachable.
type fakeFetch map[string]string

func (f fakeFetch) GetJSON(_ context.Context, url, _ string, _ []string) ([]byte, error) {
	body, ok := f[url]
	if !ok {
		return nil, errs.Wrap(errs.Unavailable, errors.New("dial 10.0.0.7:443: refused"), "the host did not answer")
	}
	return []byte(body), nil
}

func (f fakeFetch) DiscoveryURL(host, path string) string { return "https://" + host + path }

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func serves(host, software string) fakeFetch {
	return fakeFetch{
		"https://" + host + "/.well-known/nodeinfo": `{"links":[
			{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.0","href":"https://` + host + `/nodeinfo/2.0"},
			{"rel":"http://nodeinfo.diaspora.software/ns/schema/2.1","href":"https://` + host + `/nodeinfo/2.1"}]}`,
		"https://" + host + "/nodeinfo/2.1": `{"version":"2.1","software":{"name":"` + software + `","version":"4.3.1"}}`,
	}
}

func newRefresher(s *fakeStore, f fakeFetch) *NodeInfo {
	if s.records == nil {
		s.records = map[string]record{}
	}
	return &NodeInfo{Store: s, Fetch: f, Now: func() time.Time { return now }}
}

func TestIssue15Finding1NodeInfoRecordsSoftware(t *testing.T) {
	s := &fakeStore{due: []string{"peer.example"}}
	if err := newRefresher(s, serves("peer.example", "mastodon")).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := record{software: "mastodon", version: "4.3.1", at: now, next: now.Add(Every)}
	if got := s.records["peer.example"]; got != want {
		t.Fatalf("recorded %+v, want %+v (the newest 2.x link)", got, want)
	}
}

func TestIssue15Finding1NodeInfoFailureBacksOffWithSafeReason(t *testing.T) {
	s := &fakeStore{due: []string{"down.example", "long.example"}, failures: map[string]int{"down.example": 3, "long.example": 40}}
	if err := newRefresher(s, fakeFetch{}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	down := s.records["down.example"]
	if down.next != now.Add(8*time.Minute) || down.software != "" {
		t.Errorf("after 3 failures: %+v, want next in 8 minutes", down)
	}
	if down.err == "" || strings.Contains(down.err, "10.0.0.7") {
		t.Errorf("stored reason %q: want the safe message, never the address", down.err)
	}
	if long := s.records["long.example"]; long.next != now.Add(1024*time.Minute) {
		t.Errorf("after 40 failures next is %v, want the doubling capped (2^10 minutes)", long.next.Sub(now))
	}
}

func TestIssue15Finding1NodeInfoLinkMustStayOnTheHost(t *testing.T) {
	f := serves("evil.example", "x")
	f["https://peer.example/.well-known/nodeinfo"] = f["https://evil.example/.well-known/nodeinfo"]
	s := &fakeStore{due: []string{"peer.example"}}
	if err := newRefresher(s, f).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.records["peer.example"]; got.software != "" || !strings.Contains(got.err, "on the host itself") {
		t.Fatalf("a link to another host was followed: %+v", got)
	}
}

func TestIssue15Finding1NodeInfoNameCutOnARuneBoundary(t *testing.T) {
	name := strings.Repeat("a", maxName-1) + "é" // the two-byte rune straddles the limit
	s := &fakeStore{due: []string{"peer.example"}}
	if err := newRefresher(s, serves("peer.example", name)).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.records["peer.example"].software
	if len(got) > maxName || !utf8.ValidString(got) {
		t.Fatalf("stored %d bytes, valid UTF-8 %v; PostgreSQL refuses a cut rune", len(got), utf8.ValidString(got))
	}
}

func TestIssue15Finding1NodeInfoStoreErrorsAreReturned(t *testing.T) {
	s := &fakeStore{dueErr: errors.New("db down")}
	if err := newRefresher(s, fakeFetch{}).Pass(context.Background()); err == nil {
		t.Fatal("a failed claim was not reported")
	}
	s = &fakeStore{due: []string{"a.example", "b.example"}, recordErr: map[string]error{"a.example": errors.New("db down")}}
	f := serves("a.example", "x")
	for k, v := range serves("b.example", "gotosocial") {
		f[k] = v
	}
	err := newRefresher(s, f).Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "a.example") {
		t.Fatalf("Pass = %v, want the failed record named", err)
	}
	if s.records["b.example"].software != "gotosocial" {
		t.Error("one host's failed record stopped the next host")
	}
}
