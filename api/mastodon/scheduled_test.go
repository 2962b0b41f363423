package mastodon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/schedule"
)

// Scheduled posts through the API, on the sh* world (social_handlers_test.go):
// alice (10) on a.example, bob (20) on b.example. The clock stands at
// schedNow; the store is an in-file fake keeping each account's apart.

var schedNow = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

type schedFake struct {
	federation.ScheduleStore
	mu   sync.Mutex
	rows []federation.ScheduledStatus
	next int64
}

func (f *schedFake) Schedule(_ context.Context, st federation.ScheduledStatus, _ federation.ScheduleLimits) (*federation.ScheduledStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	st.ID = f.next
	f.rows = append(f.rows, st)
	return &st, nil
}

func (f *schedFake) find(accountID, id int64) int {
	return slices.IndexFunc(f.rows, func(r federation.ScheduledStatus) bool { return r.ID == id && r.AccountID == accountID })
}

func (f *schedFake) ScheduledStatuses(_ context.Context, accountID int64, _ federation.Page) ([]federation.ScheduledStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []federation.ScheduledStatus
	for _, r := range f.rows {
		if r.AccountID == accountID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *schedFake) ScheduledStatus(_ context.Context, accountID, id int64) (*federation.ScheduledStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.find(accountID, id); i >= 0 {
		r := f.rows[i]
		return &r, nil
	}
	return nil, shNotFound
}

func (f *schedFake) Reschedule(_ context.Context, accountID, id int64, at time.Time, _ federation.ScheduleLimits) (*federation.ScheduledStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(accountID, id)
	if i < 0 {
		return nil, shNotFound
	}
	f.rows[i].ScheduledAt = at
	r := f.rows[i]
	return &r, nil
}

func (f *schedFake) CancelScheduled(_ context.Context, accountID, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(accountID, id)
	if i < 0 {
		return shNotFound
	}
	f.rows = slices.Delete(f.rows, i, i+1)
	return nil
}

func newSchedFixture(t *testing.T) (*shFixture, *schedFake) {
	t.Helper()
	store := &schedFake{}
	h := &Handler{Auth: shAuth{}, Accounts: shAccounts{}, Views: shViews{}, Client: shClient{}, Sites: shResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, Outbox: &outbox.Service{},
		Schedule: &schedule.Service{Store: store, Poster: &outbox.Service{}, Now: func() time.Time { return schedNow }}}
	f := &shFixture{app: fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})}
	f.app.Use(func(c *fiber.Ctx) error {
		s, ok := shSites[c.Hostname()]
		if !ok {
			return shNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(f.app)
	return f, store
}

func TestIssue17ScheduledStatusCreateAndManage(t *testing.T) {
	f, store := newSchedFixture(t)
	at := schedNow.Add(10 * time.Minute).Format(time.RFC3339)
	status, body := f.do(t, "POST", "a.example", "/api/v1/statuses", "alice", url.Values{"status": {"later"},
		"scheduled_at": {at}, "spoiler_text": {"cw"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"600"}})
	if status != http.StatusOK {
		t.Fatalf("schedule: %d %s", status, body)
	}
	var sc ScheduledStatus
	if err := json.Unmarshal([]byte(body), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.ID != "1" || sc.ScheduledAt != "2030-01-01T12:10:00.000Z" || sc.Params.Text != "later" ||
		sc.Params.Visibility != "public" || sc.Params.SpoilerText == nil || *sc.Params.SpoilerText != "cw" ||
		sc.Params.Poll == nil || sc.Params.Poll.ExpiresIn != "600" || sc.MediaAttachments == nil {
		t.Errorf("entity: %s", body)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal([]byte(body), &raw)
	for _, k := range []string{"text", "poll", "media_ids", "sensitive", "spoiler_text", "visibility", "in_reply_to_id",
		"language", "application_id", "scheduled_at", "idempotency", "with_rate_limit"} {
		if _, ok := raw["params"][k]; !ok {
			t.Errorf("params has no %s: %s", k, body)
		}
	}
	status, body = f.do(t, "GET", "a.example", "/api/v1/scheduled_statuses", "alice", nil)
	if status != http.StatusOK || !json.Valid([]byte(body)) || len(store.rows) != 1 {
		t.Errorf("list: %d %s", status, body)
	}
	moved := schedNow.Add(time.Hour).Format(time.RFC3339)
	status, body = f.do(t, "PUT", "a.example", "/api/v1/scheduled_statuses/1", "alice", url.Values{"scheduled_at": {moved}})
	if status != http.StatusOK || !store.rows[0].ScheduledAt.Equal(schedNow.Add(time.Hour)) {
		t.Errorf("move: %d %s", status, body)
	}
	status, body = f.do(t, "DELETE", "a.example", "/api/v1/scheduled_statuses/1", "alice", nil)
	if status != http.StatusOK || body != "{}" || len(store.rows) != 0 {
		t.Errorf("cancel: %d %s", status, body)
	}
}

func TestIssue17ScheduledStatusValidation(t *testing.T) {
	f, store := newSchedFixture(t)
	const u = http.StatusUnprocessableEntity
	soon := schedNow.Add(4 * time.Minute).Format(time.RFC3339)
	later := schedNow.Add(time.Hour).Format(time.RFC3339)
	f.check(t, []shCase{
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {soon}}, u,
			"Validation failed: Scheduled at The scheduled date must be in the future"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {"tomorrow"}}, u,
			"Validation failed: Scheduled at is not a valid ISO 8601 time"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {" "}, "scheduled_at": {later}}, u, "a post needs text"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {later}, "visibility": {"friends"}}, u,
			"visibility must be public, unlisted, private or direct"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {later}, "poll[options][]": {"a"},
			"poll[expires_in]": {"600"}}, u, "a poll has 2 to 4 options (this one has 1)"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {later}, "in_reply_to_id": {"9"}},
			http.StatusNotFound, "Record not found"},
		{"GET", "/api/v1/scheduled_statuses", "alice-write", nil, http.StatusForbidden, "This action is outside the authorized scopes"},
		{"GET", "/api/v1/scheduled_statuses", "", nil, http.StatusUnauthorized, "The access token is invalid"},
	})
	if len(store.rows) != 0 {
		t.Errorf("bad input stored %d scheduled posts", len(store.rows))
	}
}

// Another tenant's token, or another account's ids, find nothing and
// change nothing.
func TestIssue17ScheduledStatusCrossTenant(t *testing.T) {
	f, store := newSchedFixture(t)
	at := schedNow.Add(10 * time.Minute)
	if _, err := store.Schedule(context.Background(), federation.ScheduledStatus{AccountID: 10, TenantID: 1, ScheduledAt: at,
		Params: federation.ScheduledParams{Text: "alice's"}}, federation.ScheduleLimits{}); err != nil {
		t.Fatal(err)
	}
	moved := url.Values{"scheduled_at": {schedNow.Add(time.Hour).Format(time.RFC3339)}}
	for _, c := range []struct {
		method, host, path, token string
		form                      url.Values
		status                    int
	}{
		{"GET", "b.example", "/api/v1/scheduled_statuses/1", "bob", nil, http.StatusNotFound},
		{"PUT", "b.example", "/api/v1/scheduled_statuses/1", "bob", moved, http.StatusNotFound},
		{"DELETE", "b.example", "/api/v1/scheduled_statuses/1", "bob", nil, http.StatusNotFound},
		{"GET", "b.example", "/api/v1/scheduled_statuses/1", "alice", nil, http.StatusUnauthorized}, // alice's token on b
		{"GET", "a.example", "/api/v1/scheduled_statuses/1", "bob", nil, http.StatusUnauthorized},
	} {
		if status, body := f.do(t, c.method, c.host, c.path, c.token, c.form); status != c.status {
			t.Errorf("%s %s%s as %s: %d %s", c.method, c.host, c.path, c.token, status, body)
		}
	}
	if status, body := f.do(t, "GET", "b.example", "/api/v1/scheduled_statuses", "bob", nil); status != http.StatusOK || body != "[]" {
		t.Errorf("bob's list: %d %s", status, body)
	}
	if len(store.rows) != 1 || !store.rows[0].ScheduledAt.Equal(at) {
		t.Errorf("changed: %+v", store.rows)
	}
}
