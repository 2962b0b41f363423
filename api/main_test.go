package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is two tenants on one instance, each with an "alice":
// tenant A on a.example (plus "bob"), tenant B on b.example with service
// domain social.b.example.
type world struct {
	app              *fiber.App
	tenantA, tenantB *tenant.Tenant
	aliceA, aliceB   *federation.Account
	tenants          *tenantpg.Store
	accounts         *fedpg.Store
	reg              *prometheus.Registry
	db               *pgxpool.Pool
	opts             api.Options // what app was built from
}

type option func(*api.Options)

func newWorld(t *testing.T, opts ...option) *world {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	w := &world{tenants: tenantpg.New(db), accounts: fedpg.New(db), reg: prometheus.NewRegistry(), db: db}
	var err error
	if w.tenantA, err = w.tenants.CreateTenant(ctx, "Tenant A", tenant.NewDomain{Domain: "a.example", Verified: true}); err != nil {
		t.Fatal(err)
	}
	if w.tenantB, err = w.tenants.CreateTenant(ctx, "Tenant B", tenant.NewDomain{Domain: "b.example", ServiceDomain: "social.b.example", Verified: true}); err != nil {
		t.Fatal(err)
	}
	hash, err := tenant.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(tn *tenant.Tenant, domain, user string) *federation.Account {
		keys, err := federation.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		a, err := w.accounts.CreateAccount(ctx, federation.NewAccount{
			TenantID: tn.ID, Domain: domain, Username: user, DisplayName: user + " of " + domain,
			Email: user + "@" + domain, Password: "correct horse battery", PasswordHash: hash, Keys: keys,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	w.aliceA = mk(w.tenantA, "a.example", "alice")
	w.aliceB = mk(w.tenantB, "b.example", "alice")
	mk(w.tenantA, "a.example", "bob")
	o := api.Options{
		Sites:        tenant.NewHostCache(w.tenants, time.Minute, 1000),
		Accounts:     w.accounts,
		URL:          httpx.URLConfig{Scheme: "https"},
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics:      w.reg,
		Gatherer:     w.reg,
		ServeMetrics: true,
		Ready:        []api.Check{{Name: "postgres", Ping: db.Ping}},
	}
	for _, opt := range opts {
		opt(&o)
	}
	w.opts = o
	w.app = api.New(o)
	return w
}

// get performs a request with the given Host and headers.
func (w *world) do(t *testing.T, method, host, target string, body io.Reader, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (w *world) get(t *testing.T, host, target string, headers ...string) *http.Response {
	return w.do(t, http.MethodGet, host, target, nil, headers...)
}

// decode reads a JSON body into a map, checking the status first.
func decode(t *testing.T, resp *http.Response, wantStatus int) map[string]any {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, wantStatus, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, b)
	}
	return m
}

// wantError asserts a JSON {"error": ...} body with the status.
func wantError(t *testing.T, resp *http.Response, status int) string {
	t.Helper()
	m := decode(t, resp, status)
	msg, _ := m["error"].(string)
	if msg == "" {
		t.Fatalf("error body has no error message: %v", m)
	}
	return msg
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

const asAccept = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

func links(t *testing.T, m map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	ls, _ := m["links"].([]any)
	for _, l := range ls {
		lm := l.(map[string]any)
		href, _ := lm["href"].(string) // a template link (subscribe) has none
		out[lm["rel"].(string)] = strings.TrimSpace(href)
	}
	return out
}

// listen serves the app on a loopback port for tests that need real HTTP.
func (w *world) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go w.app.Listener(ln)
	t.Cleanup(func() { w.app.Shutdown() })
	return "http://" + ln.Addr().String()
}
