package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
)

const secret = "whsec_test_secret"

var now = time.Unix(1_800_000_000, 0)

// memStore is billing.Store in memory, applying each event id once.
type memStore struct {
	mu       sync.Mutex
	events   map[string]bool
	accounts map[int64]*billing.Account
	applied  int
	// payments by reference, as billing_payments keeps them
	payments map[string]billing.Payment
}

func newMem() *memStore {
	return &memStore{events: map[string]bool{}, accounts: map[int64]*billing.Account{}, payments: map[string]billing.Payment{}}
}

func (m *memStore) ApplyEvent(_ context.Context, provider, id, typ string, ch *billing.Change) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.events[provider+"/"+id] {
		return false, nil
	}
	m.events[provider+"/"+id] = true
	if ch == nil {
		return true, nil
	}
	m.applied++
	if p := ch.Payment; p != nil {
		if _, ok := m.payments[p.Provider+"/"+p.Ref]; !ok {
			m.payments[p.Provider+"/"+p.Ref] = *p
		}
	}
	if ch.State == "" {
		return true, nil
	}
	tid := ch.TenantID
	if tid == 0 {
		for _, a := range m.accounts {
			if a.SubscriptionID == ch.SubscriptionID {
				tid = a.TenantID
			}
		}
	}
	if tid == 0 {
		return true, nil
	}
	m.accounts[tid] = &billing.Account{TenantID: tid, State: ch.State, Provider: ch.Provider,
		CustomerID: ch.CustomerID, SubscriptionID: ch.SubscriptionID, PaidUntil: ch.PaidUntil}
	return true, nil
}

func (m *memStore) Account(_ context.Context, id int64) (*billing.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.accounts[id]; ok {
		c := *a
		return &c, nil
	}
	return nil, errs.E(errs.NotFound, "none")
}
func (m *memStore) Overdue(context.Context, time.Time) ([]int64, error)    { return nil, nil }
func (m *memStore) Recovered(context.Context) ([]int64, error)             { return nil, nil }
func (m *memStore) ExpireManual(context.Context, time.Time) (int64, error) { return 0, nil }
func (m *memStore) SetBillingSuspended(context.Context, int64, bool) error { return nil }

// fetcher is a fake Stripe API: the subscriptions' current state.
type fetcher struct {
	mu    sync.Mutex
	subs  map[string]billing.Subscription
	calls int
}

func (f *fetcher) Subscription(_ context.Context, id string) (*billing.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	s, ok := f.subs[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "no subscription")
	}
	return &s, nil
}

func (f *fetcher) set(s billing.Subscription) {
	f.mu.Lock()
	f.subs[s.ID] = s
	f.mu.Unlock()
}

func setup(t *testing.T) (*fiber.App, *memStore, *fetcher) {
	t.Helper()
	st, f := newMem(), &fetcher{subs: map[string]billing.Subscription{}}
	h := &Handler{Host: "portal.test", Secret: secret, Now: func() time.Time { return now },
		Service: &billing.Service{Store: st, Stripe: f, Now: func() time.Time { return now }}}
	app := fiber.New()
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error { return c.SendStatus(404) })
	return app, st, f
}

func event(id, typ string, object map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ,
		"data": map[string]any{"object": object}})
	return b
}

func post(t *testing.T, app *fiber.App, body []byte, sig string) int {
	t.Helper()
	req := httptest.NewRequest("POST", Path, strings.NewReader(string(body)))
	req.Host = "portal.test"
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func subObject(id string) map[string]any {
	return map[string]any{"id": id, "object": "subscription", "customer": "cus_1", "status": "whatever the event said"}
}

func TestWebhookRejectsBadSignaturesAndChangesNothing(t *testing.T) {
	app, st, f := setup(t)
	f.set(billing.Subscription{ID: "sub_1", CustomerID: "cus_1", TenantID: 7, Status: "active"})
	body := event("evt_1", "customer.subscription.updated", subObject("sub_1"))
	var pretty map[string]any
	json.Unmarshal(body, &pretty)
	reserialised, _ := json.MarshalIndent(pretty, "", "  ")
	cases := map[string]struct {
		body []byte
		sig  string
	}{
		"missing header":   {body, ""},
		"wrong secret":     {body, Sign(body, "whsec_other", now)},
		"garbage":          {body, "t=abc,v1=zz"},
		"no v1":            {body, "t=" + fmt.Sprint(now.Unix())},
		"re-serialised":    {reserialised, Sign(body, secret, now)},
		"stale timestamp":  {body, Sign(body, secret, now.Add(-301*time.Second))},
		"future timestamp": {body, Sign(body, secret, now.Add(301*time.Second))},
		"v0 only":          {body, strings.Replace(Sign(body, secret, now), "v1=", "v0=", 1)},
	}
	for name, c := range cases {
		if code := post(t, app, c.body, c.sig); code != 400 {
			t.Errorf("%s: status %d, want 400", name, code)
		}
	}
	if len(st.events) != 0 || len(st.accounts) != 0 || f.calls != 0 {
		t.Fatalf("a rejected webhook changed something: events %v accounts %v fetches %d", st.events, st.accounts, f.calls)
	}
	// Within tolerance and exact: accepted.
	if code := post(t, app, body, Sign(body, secret, now.Add(-299*time.Second))); code != 200 {
		t.Fatalf("valid signature: %d", code)
	}
	if a, _ := st.Account(context.Background(), 7); a == nil || a.State != billing.Active {
		t.Fatalf("account %+v", a)
	}
}

func TestWebhookAcceptsEitherSignatureDuringSecretRotation(t *testing.T) {
	app, st, f := setup(t)
	f.set(billing.Subscription{ID: "sub_1", TenantID: 7, Status: "trialing"})
	body := event("evt_rot", "customer.subscription.created", subObject("sub_1"))
	old := Sign(body, "whsec_old", now)
	cur := Sign(body, secret, now)
	// Stripe sends one t= and a v1= per active secret.
	header := cur + ",v1=" + strings.SplitN(old, "v1=", 2)[1]
	if code := post(t, app, body, header); code != 200 {
		t.Fatalf("new secret second: %d", code)
	}
	body2 := event("evt_rot2", "customer.subscription.updated", subObject("sub_1"))
	old2, cur2 := Sign(body2, "whsec_old", now), Sign(body2, secret, now)
	header2 := old2 + ",v1=" + strings.SplitN(cur2, "v1=", 2)[1]
	if code := post(t, app, body2, header2); code != 200 {
		t.Fatalf("new secret first: %d", code)
	}
	if st.applied != 2 {
		t.Fatalf("applied %d", st.applied)
	}
}

func TestWebhookSameEventTwiceConcurrentlyAppliesOnce(t *testing.T) {
	app, st, f := setup(t)
	f.set(billing.Subscription{ID: "sub_1", TenantID: 7, Status: "active"})
	body := event("evt_dup", "invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1"})
	sig := Sign(body, secret, now)
	var wg sync.WaitGroup
	codes := make(chan int, 8)
	for range 8 {
		wg.Go(func() { codes <- post(t, app, body, sig) })
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d", c)
		}
	}
	if st.applied != 1 {
		t.Fatalf("applied %d times", st.applied)
	}
}

func TestWebhookOutOfOrderSubscriptionEventsConverge(t *testing.T) {
	app, st, f := setup(t)
	// Stripe's current state: the subscription was canceled. Its events
	// arrive newest first; each re-fetch sees the final state.
	f.set(billing.Subscription{ID: "sub_9", CustomerID: "cus_9", TenantID: 3, Status: "canceled"})
	for _, e := range []struct{ id, typ string }{
		{"evt_3", "customer.subscription.deleted"},
		{"evt_2", "customer.subscription.updated"},
		{"evt_1", "customer.subscription.created"},
	} {
		body := event(e.id, e.typ, subObject("sub_9"))
		if code := post(t, app, body, Sign(body, secret, now)); code != 200 {
			t.Fatalf("%s: %d", e.id, code)
		}
	}
	a, _ := st.Account(context.Background(), 3)
	if a == nil || a.State != billing.Canceled || a.SubscriptionID != "sub_9" {
		t.Fatalf("final %+v, want canceled", a)
	}
}

func TestWebhookCheckoutSessionLinksTenant(t *testing.T) {
	app, st, f := setup(t)
	f.set(billing.Subscription{ID: "sub_5", CustomerID: "cus_5", Status: "active", CurrentPeriodEnd: now.Add(720 * time.Hour)})
	body := event("evt_c", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session",
		"client_reference_id": "12", "customer": "cus_5", "subscription": "sub_5"})
	if code := post(t, app, body, Sign(body, secret, now)); code != 200 {
		t.Fatal(code)
	}
	a, _ := st.Account(context.Background(), 12)
	if a == nil || a.State != billing.Active || a.PaidUntil == nil || !a.PaidUntil.Equal(now.Add(720*time.Hour)) {
		t.Fatalf("%+v", a)
	}
	// A later invoice (new API shape) finds the tenant by subscription.
	f.set(billing.Subscription{ID: "sub_5", CustomerID: "cus_5", Status: "past_due"})
	body = event("evt_f", "invoice.payment_failed", map[string]any{"id": "in_2", "object": "invoice", "customer": "cus_5",
		"parent": map[string]any{"subscription_details": map[string]any{"subscription": "sub_5"}}})
	if code := post(t, app, body, Sign(body, secret, now)); code != 200 {
		t.Fatal(code)
	}
	if a, _ := st.Account(context.Background(), 12); a.State != billing.PastDue {
		t.Fatalf("%+v", a)
	}
	// Unhandled types and trial_will_end are acknowledged.
	for _, typ := range []string{"customer.subscription.trial_will_end", "charge.refunded"} {
		body = event("evt_"+typ, typ, subObject("sub_5"))
		if code := post(t, app, body, Sign(body, secret, now)); code != 200 {
			t.Fatalf("%s: %d", typ, code)
		}
	}
}

func TestWebhookOnlyOnPortalHostAndPost(t *testing.T) {
	app, _, _ := setup(t)
	req := httptest.NewRequest("POST", Path, strings.NewReader("{}"))
	req.Host = "tenant.test"
	if resp, _ := app.Test(req, -1); resp.StatusCode != 404 {
		t.Fatalf("other host: %d", resp.StatusCode)
	}
	req = httptest.NewRequest("GET", Path, nil)
	req.Host = "portal.test"
	if resp, _ := app.Test(req, -1); resp.StatusCode != 405 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestWebhookFetchFailureAsksStripeToRetry(t *testing.T) {
	app, st, _ := setup(t)
	body := event("evt_x", "customer.subscription.updated", subObject("sub_unknown"))
	if code := post(t, app, body, Sign(body, secret, now)); code != 500 {
		t.Fatalf("status %d, want 500 so Stripe retries", code)
	}
	if len(st.events) != 0 {
		t.Fatal("a failed event was recorded; its retry would be dropped")
	}
}
