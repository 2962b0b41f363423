package portal

import (
	"testing"

	"github.com/roost-social/roost/api/httpx"
)

// TestIssue20AppServerNamesSchemeAndPort: the portal's "type this in your
// app" names the scheme and port whenever an app could not guess them.
func TestIssue20AppServerNamesSchemeAndPort(t *testing.T) {
	for _, tc := range []struct {
		u    httpx.URLConfig
		want string
	}{
		{httpx.URLConfig{}, "a.example"},
		{httpx.URLConfig{Scheme: "https"}, "a.example"},
		{httpx.URLConfig{Scheme: "https", Port: 443}, "a.example"},
		{httpx.URLConfig{Scheme: "https", Port: 8443}, "https://a.example:8443"},
		{httpx.URLConfig{Scheme: "http"}, "http://a.example"},
		{httpx.URLConfig{Scheme: "http", Port: 80}, "http://a.example"},
		{httpx.URLConfig{Scheme: "http", Port: 8080}, "http://a.example:8080"},
	} {
		if got := appServer(tc.u, "a.example"); got != tc.want {
			t.Errorf("appServer(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
}
