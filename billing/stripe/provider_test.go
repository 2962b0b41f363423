package stripe

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/billing/stripe/stripemock"
)

// recorded is one request that went through to stripe-mock.
type recorded struct {
	Method, Path, Idempotency string
	Form                      url.Values
}

// recordingProxy forwards to stripe-mock (which checks every request
// against Stripe's OpenAPI spec and answers 4xx to a wrong shape) and
// keeps what was sent.
func recordingProxy(t *testing.T, target string) (string, func() []recorded) {
	u, _ := url.Parse(target)
	var mu sync.Mutex
	var reqs []recorded
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		reqs = append(reqs, recorded{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []recorded {
		mu.Lock()
		defer mu.Unlock()
		return append([]recorded(nil), reqs...)
	}
}

func TestStripeProviderAgainstStripeMock(t *testing.T) {
	base, sent := recordingProxy(t, stripemock.Start(t))
	c := New("sk_test_123", base)
	ctx := context.Background()
	plan := &billing.Plan{ID: 3, Name: "Family", Kind: billing.Paid, PriceMinor: 800, Currency: "usd", Interval: "month", StripePriceID: "price_family"}

	u, err := c.Checkout(ctx, billing.CheckoutRequest{TenantID: 42, Plan: plan, Email: "a@b.test",
		SuccessURL: "https://portal.test/plans?checkout=done", CancelURL: "https://portal.test/plans?checkout=canceled"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("checkout URL %q", u)
	}
	if _, err := c.Checkout(ctx, billing.CheckoutRequest{TenantID: 42, Plan: &billing.Plan{ID: 4, Kind: billing.Free}}); err == nil {
		t.Fatal("checkout of a plan without a Stripe price went through")
	}

	portal, err := c.Portal(ctx, &billing.Account{TenantID: 42, CustomerID: "cus_42"}, "https://portal.test/plans")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(portal, "https://") {
		t.Fatalf("portal URL %q", portal)
	}
	if _, err := c.Portal(ctx, &billing.Account{TenantID: 42}, "https://portal.test/plans"); err == nil {
		t.Fatal("billing portal without a customer went through")
	}

	ch, err := c.Sync(ctx, &billing.Account{TenantID: 42, SubscriptionID: "sub_42"})
	if err != nil {
		t.Fatal(err)
	}
	if ch == nil || ch.TenantID != 42 || ch.Provider != "stripe" || ch.State == "" || ch.SubscriptionID == "" {
		t.Fatalf("sync: %+v", ch)
	}
	if ch, err := c.Sync(ctx, &billing.Account{TenantID: 42}); err != nil || ch != nil {
		t.Fatalf("sync without a subscription: %+v %v", ch, err)
	}

	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	if err := c.ReportUsage(ctx, billing.MeterReport{TenantID: 42, Day: day, CustomerID: "cus_42", Event: "active_accounts", Value: 7}); err != nil {
		t.Fatal(err)
	}

	reqs := sent()
	if len(reqs) != 4 {
		t.Fatalf("requests: %+v", reqs)
	}
	co := reqs[0]
	want := map[string]string{
		"mode": "subscription", "line_items[0][price]": "price_family", "line_items[0][quantity]": "1",
		"client_reference_id": "42", "success_url": "https://portal.test/plans?checkout=done",
		"cancel_url": "https://portal.test/plans?checkout=canceled", "customer_email": "a@b.test",
		"subscription_data[metadata][tenant_id]": "42", "metadata[tenant_id]": "42",
	}
	if co.Method != "POST" || co.Path != "/v1/checkout/sessions" {
		t.Fatalf("checkout request %s %s", co.Method, co.Path)
	}
	for k, v := range want {
		if got := co.Form.Get(k); got != v {
			t.Errorf("checkout %s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(co.Idempotency, "roost-checkout-42-3-") {
		t.Errorf("checkout idempotency key %q", co.Idempotency)
	}
	pr := reqs[1]
	if pr.Method != "POST" || pr.Path != "/v1/billing_portal/sessions" || pr.Form.Get("customer") != "cus_42" ||
		pr.Form.Get("return_url") != "https://portal.test/plans" || !strings.HasPrefix(pr.Idempotency, "roost-portal-42-") {
		t.Errorf("portal request %+v", pr)
	}
	if sr := reqs[2]; sr.Method != "GET" || sr.Path != "/v1/subscriptions/sub_42" || sr.Idempotency != "" {
		t.Errorf("subscription fetch %+v", sr)
	}
	me := reqs[3]
	if me.Method != "POST" || me.Path != "/v1/billing/meter_events" || me.Form.Get("event_name") != "active_accounts" ||
		me.Form.Get("identifier") != "roost-42-2026-11-26-active_accounts" || me.Idempotency != "roost-42-2026-11-26-active_accounts" ||
		me.Form.Get("payload[stripe_customer_id]") != "cus_42" || me.Form.Get("payload[value]") != "7" ||
		me.Form.Get("timestamp") != strconv.FormatInt(day.Add(24*time.Hour-time.Second).Unix(), 10) {
		t.Errorf("meter event %+v", me)
	}
}
