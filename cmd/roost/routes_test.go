package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// route is one line of testdata/mastodon-4.5-routes.txt.
type route struct {
	method, path string
	admin        bool
	notServed    string // why Roost does not serve it; "" when it must
}

// loadRoutes reads the checked-in list of Mastodon 4.5's client routes.
func loadRoutes(t *testing.T) []route {
	t.Helper()
	f, err := os.Open("testdata/mastodon-4.5-routes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []route
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var r route
		if spec, why, ok := strings.Cut(line, "| not served:"); ok {
			line, r.notServed = strings.TrimSpace(spec), strings.TrimSpace(why)
			if r.notServed == "" {
				t.Fatalf("%q: a route not served must say why", line)
			}
		}
		if rest, ok := strings.CutPrefix(line, "admin "); ok {
			line, r.admin = rest, true
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			t.Fatalf("malformed route line %q", line)
		}
		r.method, r.path = fields[0], fields[1]
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIssue17RouteCoverage asks a running node for every Mastodon 4.5
// client route and fails when one that must be served falls through the
// router ("Cannot GET ...", or 405 for a path routed for other methods
// only), or when one listed as not served is served.
// Any other answer (200, 401, 404 "Record not found", 422...) means a
// handler took the request.
func TestIssue17RouteCoverage(t *testing.T) {
	routes := loadRoutes(t)
	_, addr := apiNode(t)
	token := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow push").Config.AccessToken
	hc := hostClient(addr)
	served, client := 0, 0
	for _, r := range routes {
		path := r.path
		for _, seg := range strings.Split(r.path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "1", 1)
			}
		}
		req, err := http.NewRequest(r.method, "http://a.test"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		var body []byte
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		}
		resp.Body.Close()
		// fiber answers 405 when the path is routed for other methods only.
		isServed := resp.StatusCode != http.StatusMethodNotAllowed && !strings.Contains(string(body), "Cannot "+r.method+" ")
		switch {
		case r.admin:
			if isServed {
				t.Errorf("%s %s (admin API) is served now: move it out of the admin section", r.method, r.path)
			}
			continue
		case r.notServed == "" && !isServed:
			t.Errorf("%s %s is not served (%d %s)", r.method, r.path, resp.StatusCode, body)
		case r.notServed != "" && isServed:
			t.Errorf("%s %s is listed as not served (%s) but is served (%d): remove the mark",
				r.method, r.path, r.notServed, resp.StatusCode)
		}
		client++
		if isServed {
			served++
		}
	}
	t.Logf("Mastodon 4.5 client routes served: %d of %d (admin API excepted)", served, client)
}
