package report_test

import (
	"context"
	"crypto"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/outbox"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/federation/social/report"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// flagInbox accepts Flags signed by the instance actor of a.example and
// keeps their bodies.
type flagInbox struct {
	pub   crypto.PublicKey
	mu    sync.Mutex
	flags []string
}

func (f *flagInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p, err := signature.Check(r, body, time.Now())
	if err == nil {
		err = signature.Verify(r, p, f.pub)
	}
	if err != nil || p.KeyID != "http://a.example/actor#main-key" {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	f.flags = append(f.flags, string(body))
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (f *flagInbox) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.flags...)
}

// TestIssue15Finding2ReportForwardSurvivesRestart files a forwarded report
// with no delivery worker running and nothing to wake one (the process
// "dies" right after the request), then starts a worker on a fresh store:
// the Flag is a deliveries row, and the worker sends it, signed by the
// instance actor of the reporter's site, naming nobody who reported it.
func TestIssue15Finding2ReportForwardSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	store := fedpg.New(db)
	keys, _ := federation.GenerateKeyPair()
	alice, err := store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: "alice",
		Email: "alice@a.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	dave, err := store.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.test", Username: "dave",
		Remote: &federation.RemoteInfo{URI: "http://remote.test/users/dave", KeyID: "http://remote.test/users/dave#main-key",
			Inbox: "http://remote.test/users/dave/inbox", SharedInbox: "http://remote.test/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}

	// The request: filed and queued, no dispatcher, no worker.
	svc := &report.Service{Accounts: store, Statuses: store, Store: store, Flags: &outbox.Service{Scheme: "http"}}
	r, _, err := svc.File(ctx, alice, report.Form{AccountID: idOf(dave), Comment: "please look", Category: "spam",
		Forward: true, ActingHost: "a.example"})
	if err != nil || !r.Forwarded || r.Forward == nil || r.Forward.DeliveryID == 0 {
		t.Fatalf("report: %+v %v", r, err)
	}

	// The restart: a new store over the same database finds the row.
	restarted := fedpg.New(db)
	ds, _, err := restarted.LoadDeliveries(ctx, []int64{r.Forward.DeliveryID}, time.Now(), 0)
	if d := ds[r.Forward.DeliveryID]; err != nil || d == nil || d.State != "pending" || d.ActingHost != "a.example" ||
		d.Inbox != "http://remote.test/inbox" {
		t.Fatalf("queued forward: %+v %v", d, err)
	}

	kp, err := restarted.InstanceKeys(ctx, federation.GenerateKeyPair)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signature.ParsePublicKeyPEM(kp.PublicPEM)
	priv, _ := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	inbox := &flagInbox{pub: pub}
	srv := httptest.NewServer(inbox)
	t.Cleanup(srv.Close)
	client, prefix := testenv.Redis(t)
	q := &delivery.Queue{Store: restarted, Redis: client, Prefix: prefix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w := &delivery.Worker{Queue: q, Consumer: "restarted", SweepEvery: 50 * time.Millisecond, Log: q.Log,
		Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"remote.test": srv.Listener.Addr().String()}}),
		KeyID: func(context.Context, *federation.Account) (string, error) {
			return "http://a.example/users/alice#main-key", nil
		},
		InstanceSign: func(req *http.Request, body []byte) error {
			keyID := federation.NewLinks("http", federation.ActingHost(req.Context()), 0).InstanceActor() + "#main-key"
			return signature.Sign(req, body, keyID, priv, time.Now())
		},
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var runErr error
	go func() { runErr = w.Run(wctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if runErr != nil {
			t.Errorf("worker: %v", runErr)
		}
	})

	deadline := time.Now().Add(20 * time.Second) // a bound on a poll, not a timing assertion
	for len(inbox.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := inbox.received()
	if len(got) != 1 {
		t.Fatalf("flags received: %d", len(got))
	}
	var flag map[string]any
	if err := json.Unmarshal([]byte(got[0]), &flag); err != nil || flag["type"] != "Flag" ||
		flag["actor"] != "http://a.example/actor" || flag["content"] != "please look" || strings.Contains(got[0], "alice") {
		t.Fatalf("flag: %s", got[0])
	}
}

func idOf(a *federation.Account) string {
	b, _ := json.Marshal(a.ID)
	return string(b)
}
