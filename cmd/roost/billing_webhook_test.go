package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	apibilling "github.com/roost-social/roost/api/billing"
)

// Stripe, end to end against a real `roost serve`: a signed webhook on the
// portal host links a checkout to a tenant (the subscription re-fetched
// from a fake Stripe API), a failed payment past the grace period
// suspends the tenant (its domain answers 403, its posts stay), and the
// next payment brings it back.
func TestBillingStripeWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	status := "active"
	stripeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_e2e" || r.URL.Path != "/v1/subscriptions/sub_e2e" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `{"id":"sub_e2e","object":"subscription","status":%q,"customer":"cus_e2e","metadata":{}}`, status)
	}))
	defer stripeAPI.Close()
	setStatus := func(s string) { mu.Lock(); status = s; mu.Unlock() }

	const secret = "whsec_e2e"
	addr := freeAddr(t)
	n := startNode(t, "billing", addr, "")
	n.env = append(n.env, "ROOST_PORTAL_HOST=portal.roost.test", "ROOST_STRIPE_WEBHOOK_SECRET="+secret,
		"ROOST_STRIPE_SECRET_KEY=sk_test_e2e", "ROOST_STRIPE_API_URL="+stripeAPI.URL,
		"ROOST_BILLING_GRACE_DAYS=0", "ROOST_DOMAIN_CACHE_TTL=10m")
	id := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Payer", "--domain", "payer.test"))
	n.run(t, "account", "create", "--domain", "payer.test", "--username", "pat", "--email", "pat@mail.test", "--password", "long enough password")
	n.run(t, "post", "--account", "pat@payer.test", "--text", "kept through everything")
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/users/pat", "payer.test", 200)

	post := func(evID, typ string, object map[string]any, sig func([]byte) string) int {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"id": evID, "object": "event", "type": typ, "data": map[string]any{"object": object}})
		req, _ := http.NewRequest("POST", "http://"+addr+apibilling.Path, strings.NewReader(string(body)))
		req.Host = "portal.roost.test"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", sig(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	good := func(b []byte) string { return apibilling.Sign(b, secret, time.Now()) }
	invoice := map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_e2e", "subscription": "sub_e2e"}
	paidInvoice := map[string]any{"id": "in_2", "object": "invoice", "customer": "cus_e2e", "subscription": "sub_e2e",
		"amount_paid": 800, "currency": "usd", "status_transitions": map[string]any{"paid_at": time.Now().Unix()}}

	if code := post("evt_forged", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session",
		"client_reference_id": id, "subscription": "sub_e2e"}, func(b []byte) string { return apibilling.Sign(b, "whsec_wrong", time.Now()) }); code != 400 {
		t.Fatalf("forged: %d", code)
	}
	if got := n.query(t, `select count(*) from billing_events`); got != "0" {
		t.Fatalf("forged event stored: %s", got)
	}
	if code := post("evt_1", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session",
		"client_reference_id": id, "customer": "cus_e2e", "subscription": "sub_e2e"}, good); code != 200 {
		t.Fatalf("checkout: %d", code)
	}
	if got := n.query(t, `select state || ' ' || subscription_id from tenant_billing where tenant_id = $1`, id); got != "active sub_e2e" {
		t.Fatalf("after checkout: %s", got)
	}

	setStatus("past_due")
	if code := post("evt_2", "invoice.payment_failed", invoice, good); code != 200 {
		t.Fatalf("payment_failed: %d", code)
	}
	if code := post("evt_2", "invoice.payment_failed", invoice, good); code != 200 { // Stripe's retry
		t.Fatalf("replay: %d", code)
	}
	if out := n.run(t, "billing", "enforce"); !strings.Contains(out, "suspended 1") {
		t.Fatalf("enforce: %q", out)
	}
	waitHTTP(t, "http://"+addr+"/users/pat", "payer.test", 403) // every node told at once
	if got := n.query(t, `select count(*) from accounts where tenant_id = $1`, id); got != "1" {
		t.Fatalf("accounts after suspension: %s", got)
	}
	if got := n.query(t, `select count(*) from statuses where tenant_id = $1`, id); got != "1" {
		t.Fatalf("posts after suspension: %s", got)
	}

	setStatus("active")
	if code := post("evt_3", "invoice.paid", paidInvoice, good); code != 200 {
		t.Fatalf("paid: %d", code)
	}
	if code := post("evt_3", "invoice.paid", paidInvoice, good); code != 200 { // Stripe's retry
		t.Fatalf("paid replay: %d", code)
	}
	// The payment is income in the open books, once.
	if got := n.query(t, `select count(*) || ' ' || sum(amount_minor) || ' ' || min(tenant_id) from billing_payments`); got != "1 800 "+id {
		t.Fatalf("payments: %s", got)
	}
	if out := n.run(t, "billing", "enforce"); !strings.Contains(out, "reactivated 1") {
		t.Fatalf("enforce: %q", out)
	}
	waitHTTP(t, "http://"+addr+"/users/pat", "payer.test", 200)
	if got := n.query(t, `select count(*) from statuses where tenant_id = $1 and content like '%kept through everything%'`, id); got != "1" {
		t.Fatalf("posts after reactivation: %s", got)
	}
	if got := n.query(t, `select count(*) from billing_events`); got != "3" {
		t.Fatalf("events: %s", got)
	}
}
