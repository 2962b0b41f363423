package api_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
)

// Soak finding 9 as a class: fiber hands out strings that point into the
// request's buffers, which the connection's next request overwrites. A
// value kept past its request (a cache key, a stream's name, a limiter's
// key) then silently became another request's value: a node served one
// account's actor under another's name. The app is built immutable, so
// every value a handler reads from the request is its own copy; this test
// keeps each kind of value past its request, on one keep-alive
// connection, and checks none changed.
func TestIssue19Finding9RequestValuesOutliveTheirRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.opts
	o.Metrics = nil
	w.app = api.New(o)
	type kept struct{ param, query, header, path, host string }
	var got []kept
	w.app.Get("/keep/:name", func(c *fiber.Ctx) error {
		got = append(got, kept{c.Params("name"), c.Query("q"), c.Get("X-Keep"), c.Path(), c.Hostname()})
		return c.SendString("ok")
	})
	base := w.listen(t)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	hosts := map[string]string{"first-value": "a.example", "other-value": "b.example"}
	for _, v := range []string{"first-value", "other-value"} {
		req, _ := http.NewRequest("GET", base+"/keep/"+v+"?q="+v, nil)
		req.Header.Set("X-Keep", v)
		req.Host = hosts[v]
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	want := kept{"first-value", "first-value", "first-value", "/keep/first-value", "a.example"}
	if len(got) != 2 || got[0] != want {
		t.Fatalf("values kept from the first request became %+v, want %+v", got, want)
	}
}
