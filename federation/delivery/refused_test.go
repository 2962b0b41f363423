package delivery_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/fixtures"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// leak matches what a stored reason must never show: an IPv4 or IPv6
// address, a host:port, or the dialer's and resolver's own words.
var leak = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|\[?[0-9a-fA-F]*:[0-9a-fA-F:]+\]?|:\d+\b|dial|lookup|tcp|udp`)

// Issue 14, finding 6: deliveries the SSRF guard refuses are failed at
// once (one attempt, no retry for days), and neither the delivery row nor
// the host's health row shows what the name resolved to. Unreachable
// hosts are retried, with a reason that names no resolver either.
func TestIssue14Finding6RefusedDeliveriesFailAtOnceWithoutAddress(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := federation.GenerateKeyPair()
	store := fedpg.New(db)
	sender, err := store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: "alice",
		Email: "alice@a.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	client, prefix := testenv.Redis(t)
	q := &delivery.Queue{Store: store, Redis: client, Prefix: prefix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := &delivery.Worker{
		Queue: q, Consumer: "test", SweepEvery: 100 * time.Millisecond, Log: q.Log, Hosts: store,
		Fetch: fetch.New(fetch.Config{Timeout: 5 * time.Second}),
		KeyID: func(context.Context, *federation.Account) (string, error) { return keyID, nil },
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	refused := map[string]string{ // inbox → its host as deliveries record it
		"https://127.0.0.1:6379/inbox":          "127.0.0.1:6379",
		"https://localhost:6379/inbox":          "localhost:6379",
		"https://[::1]:6379/inbox":              "[::1]:6379",
		"https://[::ffff:127.0.0.1]:6379/inbox": "[::ffff:127.0.0.1]:6379",
		"https://10.0.0.1/inbox":                "10.0.0.1",
		"https://169.254.169.254/inbox":         "169.254.169.254",
		"https://0.0.0.0/inbox":                 "0.0.0.0",
		"http://plain.example/inbox":            "plain.example",
	}
	var inboxes []string
	for inbox := range refused {
		inboxes = append(inboxes, inbox)
	}
	inboxes = append(inboxes, "https://nonexistent.invalid/inbox")
	if err := q.Send(ctx, sender.ID, "http://a.example/act/1", []byte(`{"id":"http://a.example/act/1"}`), inboxes, true); err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db}
	eventually(t, "every delivery attempted once", func() bool {
		return r.state(t, `select count(*) from deliveries where attempts = 1`) == "9"
	})
	for inbox, host := range refused {
		row := r.state(t, `select state || '|' || coalesce(last_error, '') || '|' || (next_attempt_at > now() + interval '1 minute')::text
			from deliveries where inbox_url = '`+inbox+`'`)
		if row[:7] != "failed|" {
			t.Errorf("%s: %s, want failed at once", inbox, row)
		}
		if reason := r.state(t, `select last_error from deliveries where inbox_url = '`+inbox+`'`); leakIn(reason, host) {
			t.Errorf("%s: stored reason %q shows an address", inbox, reason)
		}
	}
	row := r.state(t, `select state || '|' || last_error from deliveries where host = 'nonexistent.invalid'`)
	if row != "pending|could not reach nonexistent.invalid" {
		t.Errorf("unreachable host: %q, want pending with a reason naming only the host", row)
	}
	eventually(t, "hosts' health recorded", func() bool {
		return r.state(t, `select count(*) from remote_hosts where last_error <> ''`) != "0"
	})
	rows, err := db.Query(ctx, `select host, last_error from remote_hosts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var host, reason string
		if err := rows.Scan(&host, &reason); err != nil {
			t.Fatal(err)
		}
		if leakIn(reason, host) {
			t.Errorf("remote_hosts %s: %q shows an address", host, reason)
		}
	}
}

// leakIn reports whether reason shows more than the host it is about:
// the host itself (an IP literal when the inbox named one) is allowed.
func leakIn(reason, host string) bool {
	name := strings.Trim(host, "[]")
	if h, _, ok := cut(host); ok {
		name = h
	}
	stripped := regexp.MustCompile(regexp.QuoteMeta(name)).ReplaceAllString(reason, "HOST")
	return leak.MatchString(stripped)
}

// cut splits host:port (with brackets for IPv6).
func cut(hostport string) (string, string, bool) {
	if req, err := http.NewRequest("GET", "https://"+hostport+"/", nil); err == nil && req.URL.Port() != "" {
		return req.URL.Hostname(), req.URL.Port(), true
	}
	return hostport, "", false
}

// Issue 14, finding 6: migration 028 rewrites what the old code stored
// (whole error texts, causes included) to the safe message, and fails the
// refused deliveries still being retried; other reasons are untouched.
func TestIssue14Finding6StoredErrorsScrubbed(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := federation.GenerateKeyPair()
	sender, err := fedpg.New(db).CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: "alice",
		Email: "alice@a.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	old := map[string][2]string{ // inbox → stored error, want state|error after
		"https://redis.example/inbox": {`forbidden: the address of redis.example is not allowed: Post "https://redis.example/inbox": dial tcp 127.0.0.1:6379: address 127.0.0.1:6379 is not allowed`,
			"failed|the address of redis.example is not allowed"},
		"https://gone.example/inbox": {`unavailable: could not reach gone.example: Post "https://gone.example/inbox": dial tcp: lookup gone.example on 10.255.255.53:53: no such host`,
			"pending|could not reach gone.example"},
		"https://busy.example/inbox": {"status 503", "pending|status 503"},
	}
	for inbox, v := range old {
		if _, err := db.Exec(ctx, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, last_error)
			values ($1, 'https://a.example/act/1', $2, split_part($2, '/', 3), '{}', $3)`, sender.ID, inbox, v[0]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `insert into remote_hosts (host, last_error, nodeinfo_error) values ('redis.example', $1, $1)`, old["https://redis.example/inbox"][0]); err != nil {
		t.Fatal(err)
	}
	sql, err := os.ReadFile(filepath.Join(fixtures.Root(t), "migrations", "028_safe_outbound_errors.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, string(sql)); err != nil {
		t.Fatal(err)
	}
	r := &rig{db: db}
	for inbox, v := range old {
		if got := r.state(t, `select state || '|' || last_error from deliveries where inbox_url = '`+inbox+`'`); got != v[1] {
			t.Errorf("%s: %q, want %q", inbox, got, v[1])
		}
	}
	if got := r.state(t, `select last_error || '|' || nodeinfo_error from remote_hosts`); got != "the address of redis.example is not allowed|the address of redis.example is not allowed" {
		t.Errorf("remote_hosts: %q", got)
	}
}
