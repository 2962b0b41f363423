package api_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
)

// The client address every per-address limit uses (streaming caps,
// sign-in throttling): the peer, or behind trusted proxies the rightmost
// X-Forwarded-For entry that is not a proxy; never what a client wrote
// further left.
func TestIssue14Finding11ClientAddressBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	serve := func(trusted ...string) string {
		w := newWorld(t)
		o := w.opts
		o.Metrics, o.TrustedProxies = nil, trusted
		w.app = api.New(o)
		w.app.Get("/ip", func(c *fiber.Ctx) error { return c.SendString(httpx.ClientIP(c).String()) })
		return w.listen(t)
	}
	direct, proxied := serve(), serve("127.0.0.1", "10.0.0.0/8")
	for _, tc := range []struct {
		base string
		xff  []string
		want string
	}{
		{direct, []string{"203.0.113.5"}, "127.0.0.1"}, // not a trusted proxy: its header is not believed
		{proxied, nil, "127.0.0.1"},
		{proxied, []string{"203.0.113.5"}, "203.0.113.5"},
		{proxied, []string{"1.1.1.1, 203.0.113.5"}, "203.0.113.5"},
		{proxied, []string{"1.1.1.1", "203.0.113.5"}, "203.0.113.5"}, // two header lines, in order
		{proxied, []string{"203.0.113.5, 10.1.2.3"}, "203.0.113.5"},  // a chain of trusted proxies
		{proxied, []string{"203.0.113.5, garbage"}, "127.0.0.1"},
		{proxied, []string{"203.0.113.5:4711"}, "203.0.113.5"},
		{proxied, []string{"[2001:db8::1]:80"}, "2001:db8::1"},
		{proxied, []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{proxied, []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"}, // all proxies: the farthest known
	} {
		req, _ := http.NewRequest("GET", tc.base+"/ip", nil)
		req.Host = "a.example"
		for _, v := range tc.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.want {
			t.Errorf("X-Forwarded-For %q (trusted proxies: %v): client %q, want %q", tc.xff, tc.base == proxied, b, tc.want)
		}
	}
}
