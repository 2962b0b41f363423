// Package stripe reads subscriptions from the Stripe API (through the
// official SDK, github.com/stripe/stripe-go) for package billing, so
// webhook events are applied from the subscription's current state rather
// than from the (unordered) event payloads.
package stripe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	stripesdk "github.com/stripe/stripe-go/v85"

	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = stripesdk.APIURL

// Client is a billing.SubscriptionFetcher on Stripe's API.
type Client struct {
	sc *stripesdk.Client
}

var _ billing.SubscriptionFetcher = (*Client)(nil)

// New returns a Client with the API key (ROOST_STRIPE_SECRET_KEY) on
// baseURL (ROOST_STRIPE_API_URL; empty: DefaultBaseURL).
func New(key, baseURL string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	retries := int64(1)
	cfg := &stripesdk.BackendConfig{URL: stripesdk.String(baseURL), MaxNetworkRetries: &retries,
		LeveledLogger: &stripesdk.LeveledLogger{Level: stripesdk.LevelError}}
	return &Client{sc: stripesdk.NewClient(key, stripesdk.WithBackends(stripesdk.NewBackendsWithConfig(cfg)))}
}

// Subscription fetches GET /v1/subscriptions/{id}.
func (c *Client) Subscription(ctx context.Context, id string) (*billing.Subscription, error) {
	s, err := c.sc.V1Subscriptions.Retrieve(ctx, id, nil)
	if err != nil {
		var se *stripesdk.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil, errs.Wrap(errs.NotFound, err, fmt.Sprintf("no Stripe subscription %s", id))
		}
		return nil, fmt.Errorf("stripe: subscription %s: %w", id, err)
	}
	out := &billing.Subscription{ID: s.ID, Status: string(s.Status)}
	if s.Customer != nil {
		out.CustomerID = s.Customer.ID
	}
	var end int64
	if s.Items != nil {
		for _, it := range s.Items.Data {
			end = max(end, it.CurrentPeriodEnd)
		}
	}
	if end > 0 {
		out.CurrentPeriodEnd = time.Unix(end, 0).UTC()
	}
	if n, err := strconv.ParseInt(s.Metadata["tenant_id"], 10, 64); err == nil && n > 0 {
		out.TenantID = n
	}
	return out, nil
}

func randomKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
