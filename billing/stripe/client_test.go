package stripe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

func TestStripeClientReadsSubscription(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_x" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/v1/subscriptions/sub_1" {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such subscription"}}`))
			return
		}
		w.Write([]byte(`{"id":"sub_1","object":"subscription","status":"past_due","customer":"cus_9",
			"metadata":{"tenant_id":"42"},"items":{"data":[{"current_period_end":1900000000}]}}`))
	}))
	defer srv.Close()
	c := New("sk_test_x", srv.URL)
	s, err := c.Subscription(context.Background(), "sub_1")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "sub_1" || s.Status != "past_due" || s.CustomerID != "cus_9" || s.TenantID != 42 || s.CurrentPeriodEnd.Unix() != 1900000000 {
		t.Fatalf("%+v", s)
	}
	if _, err := c.Subscription(context.Background(), "sub_nope"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("missing subscription: %v", err)
	}
}
