package billing

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/roost-social/roost/billing"
)

// signed signs body the way Stripe does, with the SDK's own test helper.
func signed(body []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

// A paid invoice is income for the open books: recorded with its event,
// once per invoice however often and however concurrently it arrives;
// bad signatures made with the SDK's helper change nothing.
func TestWebhookInvoicePaidRecordsIncomeOnce(t *testing.T) {
	app, st, f := setup(t)
	f.set(billing.Subscription{ID: "sub_1", CustomerID: "cus_1", TenantID: 7, Status: "active"})
	inv := map[string]any{"id": "in_77", "object": "invoice", "customer": "cus_1", "amount_paid": 800, "currency": "USD",
		"status_transitions": map[string]any{"paid_at": now.Add(-time.Minute).Unix()},
		"parent":             map[string]any{"subscription_details": map[string]any{"subscription": "sub_1"}}}
	body := event("evt_paid", "invoice.paid", inv)

	var pretty map[string]any
	json.Unmarshal(body, &pretty)
	reserialised, _ := json.MarshalIndent(pretty, "", " ")
	for name, c := range map[string]struct {
		body []byte
		sig  string
	}{
		"wrong secret":    {body, signed(body, "whsec_nope", now)},
		"re-serialised":   {reserialised, signed(body, secret, now)},
		"stale timestamp": {body, signed(body, secret, now.Add(-6*time.Minute))},
	} {
		if code := post(t, app, c.body, c.sig); code != 400 {
			t.Errorf("%s: %d", name, code)
		}
	}
	if len(st.payments) != 0 || len(st.events) != 0 {
		t.Fatalf("rejected events changed something: %v %v", st.payments, st.events)
	}

	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if code := post(t, app, body, signed(body, secret, now)); code != 200 {
				t.Errorf("status %d", code)
			}
		})
	}
	wg.Wait()
	// Another event reporting the same invoice counts it once too.
	again := event("evt_paid_2", "invoice.paid", inv)
	if code := post(t, app, again, signed(again, secret, now)); code != 200 {
		t.Fatalf("second event: %d", code)
	}
	if len(st.payments) != 1 {
		t.Fatalf("payments %v", st.payments)
	}
	p := st.payments["stripe/in_77"]
	if p.AmountMinor != 800 || p.Currency != "usd" || !p.PaidAt.Equal(now.Add(-time.Minute).Truncate(time.Second)) {
		t.Fatalf("payment %+v", p)
	}
	if a, _ := st.Account(t.Context(), 7); a == nil || a.State != billing.Active {
		t.Fatalf("account %+v", a)
	}
	// A one-off invoice (a donation) names no subscription: income all
	// the same, with no fetch.
	calls := f.calls
	gift := event("evt_gift", "invoice.paid", map[string]any{"id": "in_gift", "object": "invoice", "customer": "cus_1",
		"amount_paid": 2500, "currency": "usd", "metadata": map[string]string{"tenant_id": "7"}})
	if code := post(t, app, gift, signed(gift, secret, now)); code != 200 {
		t.Fatalf("gift: %d", code)
	}
	if st.payments["stripe/in_gift"].AmountMinor != 2500 || f.calls != calls {
		t.Fatalf("gift %+v, fetches %d→%d", st.payments, calls, f.calls)
	}
}
