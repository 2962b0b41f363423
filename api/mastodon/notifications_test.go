package mastodon

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/tenant"
)

// fakeGroups is alice's page of groups: bob's and dave's favourites of
// bob's post 20 (bob newest), and erin's mention in post 23.
type fakeGroups struct {
	federation.NotificationStore
	asked []string // grouped_types seen
}

func (f *fakeGroups) NotificationGroups(_ context.Context, _ int64, _ federation.NotificationQuery, grouped []string, _ federation.Page) ([]federation.NotificationGroup, error) {
	f.asked = grouped
	return []federation.NotificationGroup{
		{Key: "favourite-20-1", Notification: federation.Notification{ID: 30, Type: "favourite", FromAccountID: 2, StatusID: 20},
			Count: 2, MostRecentID: 30, PageMinID: 28, PageMaxID: 30, SampleAccountIDs: []int64{2, 3}},
		{Key: "ungrouped-29", Notification: federation.Notification{ID: 29, Type: "mention", FromAccountID: 4, StatusID: 23},
			Count: 1, MostRecentID: 29, PageMinID: 29, PageMaxID: 29, SampleAccountIDs: []int64{4}},
	}, nil
}

func groupsApp(store federation.NotificationStore) *fiber.App {
	h := &Handler{Auth: fakeAuth{}, Views: &fakeViews{}, Client: fakeClient{}, Accounts: fakeAccounts{}, Sites: fakeSites{},
		URL: httpx.URLConfig{Scheme: "http"}, Filters: &filter.Service{Store: fakeFilterStore{}, Hidden: fakeHidden{}},
		Notifications: store}
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		httpx.SetSite(c, &tenant.Site{TenantID: 7, Domain: "a.example"})
		return c.Next()
	})
	h.Register(app)
	return app
}

func getAs(t *testing.T, app *fiber.App, path string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest("GET", "http://a.example"+path, nil)
	req.Header.Set("Authorization", "Bearer alice")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestIssue17GroupedNotificationsRender: the v2 answer names each account
// and status once; partial_avatars sends each group's newest sender in
// full and the other samples partly; grouped_types reaches the store as
// the groupable types named (none when only others are); a bad
// expand_accounts is refused; without a store the route is not found.
func TestIssue17GroupedNotificationsRender(t *testing.T) {
	store := &fakeGroups{}
	app := groupsApp(store)
	code, body := getAs(t, app, "/api/v2/notifications?expand_accounts=partial_avatars&grouped_types[]=favourite&grouped_types[]=poll")
	var got GroupedNotificationsResults
	if err := json.Unmarshal(body, &got); err != nil || code != 200 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	var full, partial, statuses []string
	for _, a := range got.Accounts {
		full = append(full, a.ID)
	}
	for _, a := range *got.PartialAccounts {
		partial = append(partial, a.ID)
	}
	for _, s := range got.Statuses {
		statuses = append(statuses, s.ID)
	}
	if !slices.Equal(full, []string{"2", "4"}) || !slices.Equal(partial, []string{"3"}) || !slices.Equal(statuses, []string{"20", "23"}) {
		t.Fatalf("accounts %v partial %v statuses %v", full, partial, statuses)
	}
	g := got.NotificationGroups[0]
	if g.GroupKey != "favourite-20-1" || g.NotificationsCount != 2 || g.PageMinID != "28" || g.PageMaxID != "30" ||
		!slices.Equal(g.SampleAccountIDs, []string{"2", "3"}) || g.StatusID == nil || *g.StatusID != "20" {
		t.Fatalf("group: %+v", g)
	}
	if !slices.Equal(store.asked, []string{"favourite"}) {
		t.Fatalf("grouped_types asked: %v", store.asked)
	}
	_, body = getAs(t, app, "/api/v2/notifications")
	var plain map[string]json.RawMessage
	if err := json.Unmarshal(body, &plain); err != nil || plain["partial_accounts"] != nil ||
		!slices.Equal(store.asked, federation.GroupableNotificationTypes) {
		t.Fatalf("full accounts: %s (asked %v)", body, store.asked)
	}
	if code, body := getAs(t, app, "/api/v2/notifications?expand_accounts=some"); code != 422 {
		t.Fatalf("bad expand_accounts: %d %s", code, body)
	}
	if code, body := getAs(t, app, "/api/v2/notifications?types[]=annual_report"); code != 200 ||
		string(body) != `{"accounts":[],"statuses":[],"notification_groups":[]}` {
		t.Fatalf("unknown types only: %d %s", code, body)
	}
	if code, _ := getAs(t, groupsApp(nil), "/api/v2/notifications"); code != 404 {
		t.Fatalf("without a store: %d", code)
	}
}
