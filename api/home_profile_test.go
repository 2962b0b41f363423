package api_test

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestIssue21HomePageProfile reads a 20-post home page many times from a
// node rendering every request and from a caching node, for a CPU
// profile (go test -run TestIssue21HomePageProfile -cpuprofile ...).
// Off unless ROOST_HOME_PROFILE is set: it measures, it asserts nothing.
func TestIssue21HomePageProfile(t *testing.T) {
	if os.Getenv("ROOST_HOME_PROFILE") == "" {
		t.Skip("set ROOST_HOME_PROFILE=1 to profile the home page")
	}
	hc := newHomeCluster(t)
	hc.call(t, hc.aliceA, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", hc.bob.ID), nil).want(t, 200)
	for i := range 40 {
		hc.post(t, hc.bob, map[string]any{"status": fmt.Sprintf("bob's post %d", i)})
	}
	for _, n := range []struct {
		name string
		app  func() (int, string)
	}{
		{"fresh", func() (int, string) { return hc.homeAt(t, hc.fresh, "a.example", hc.tokens[hc.aliceA.ID], "?limit=20") }},
		{"cached", func() (int, string) { return hc.homeAt(t, hc.b.app, "a.example", hc.tokens[hc.aliceA.ID], "?limit=20") }},
	} {
		const reads = 2000
		start := time.Now()
		for range reads {
			if code, _ := n.app(); code != 200 {
				t.Fatal(code)
			}
		}
		t.Logf("%s: %v per read (wall, in process)", n.name, time.Since(start)/reads)
	}
}
