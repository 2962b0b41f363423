package mastodon

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestIssue17InstanceV2: the contact account is the tenant's owner (null
// for a tenant without one), the 4.4/4.5 configuration keys are there,
// and the version is Mastodon's semver format with Roost as build
// metadata (no x.y.z of Roost's own after the '+').
func TestIssue17InstanceV2(t *testing.T) {
	f := newSRFixture(t)
	code, body := f.do(t, "GET", "a.example", "/api/v2/instance", "", "")
	var doc struct {
		Version       string `json:"version"`
		Configuration struct {
			Accounts          map[string]any `json:"accounts"`
			LimitedFederation *bool          `json:"limited_federation"`
		} `json:"configuration"`
		Registrations map[string]any `json:"registrations"`
		APIVersions   map[string]int `json:"api_versions"`
		Contact       struct {
			Account *Account `json:"account"`
		} `json:"contact"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if doc.Contact.Account == nil || doc.Contact.Account.ID != "10" || doc.Contact.Account.Acct != "alice" {
		t.Errorf("contact: %+v", doc.Contact.Account)
	}
	acc := doc.Configuration.Accounts
	if acc["max_profile_fields"] != 4.0 || acc["profile_field_name_limit"] != 255.0 || acc["profile_field_value_limit"] != 255.0 ||
		acc["max_featured_tags"] != 10.0 || acc["max_pinned_statuses"] != 5.0 || acc["max_note_length"] != 500.0 {
		t.Errorf("accounts: %v", acc)
	}
	if doc.Configuration.LimitedFederation == nil || *doc.Configuration.LimitedFederation {
		t.Errorf("limited_federation: %s", body)
	}
	if _, ok := doc.Registrations["min_age"]; !ok || doc.Registrations["reason_required"] != false {
		t.Errorf("registrations: %v", doc.Registrations)
	}
	if doc.APIVersions["mastodon"] != mastodonAPIVersion {
		t.Errorf("api_versions: %v", doc.APIVersions)
	}
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+\+roost(-[0-9A-Za-z-]+)?$`)
	if !semver.MatchString(doc.Version) {
		t.Errorf("version %q", doc.Version)
	}
	for _, roost := range []string{"1.2.3", "v0.9.0-rc.1+abc", "dev", ""} {
		v := versionString(roost)
		if !semver.MatchString(v) || regexp.MustCompile(`\d+\.\d+\.\d+`).MatchString(v[strings.IndexByte(v, '+'):]) {
			t.Errorf("versionString(%q) = %q", roost, v)
		}
	}
	if _, v1 := f.do(t, "GET", "a.example", "/api/v1/instance", "", ""); !strings.Contains(v1, `"contact_account":{"id":"10"`) {
		t.Errorf("v1 contact_account: %s", v1)
	}
	_, body = f.do(t, "GET", "b.example", "/api/v2/instance", "", "")
	if !strings.Contains(body, `"contact":{"account":null`) && !strings.Contains(body, `"account":null`) {
		t.Errorf("b's contact: %s", body)
	}
}

// TestIssue17InstanceRoutes: every /api/v1/instance/... route answers as
// Mastodon does; peers and activity are the asking tenant's own.
func TestIssue17InstanceRoutes(t *testing.T) {
	f := newSRFixture(t)
	for _, c := range []struct {
		host, path string
		code       int
		want       string
	}{
		{"a.example", "/api/v1/instance/rules", 200, `[]`},
		{"a.example", "/api/v1/instance/extended_description", 200, `{"content":"","updated_at":null}`},
		{"a.example", "/api/v1/instance/privacy_policy", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/terms_of_service", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/terms_of_service/2025-01-01", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/domain_blocks", 404, `{"error":"Record not found"}`},
		{"a.example", "/api/v1/instance/peers", 200, `["r.example"]`},
		{"b.example", "/api/v1/instance/peers", 200, `[]`},
	} {
		code, body := f.do(t, "GET", c.host, c.path, "", "")
		if code != c.code || body != c.want {
			t.Errorf("%s%s: %d %s", c.host, c.path, code, body)
		}
	}
	_, body := f.do(t, "GET", "a.example", "/api/v1/instance/languages", "", "")
	var langs []map[string]string
	if json.Unmarshal([]byte(body), &langs) != nil || len(langs) < 180 || !strings.Contains(body, `{"code":"en","name":"English"}`) {
		t.Errorf("languages: %.200s", body)
	}
	for host, want := range map[string]string{"a.example": `"statuses":"3"`, "b.example": `"statuses":"0"`} {
		_, body := f.do(t, "GET", host, "/api/v1/instance/activity", "", "")
		var weeks []map[string]string
		if json.Unmarshal([]byte(body), &weeks) != nil || len(weeks) != 12 || weeks[0]["week"] != "1700000000" ||
			!strings.Contains(body, want) {
			t.Errorf("%s activity: %s", host, body)
		}
	}
}
