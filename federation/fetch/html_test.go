package fetch

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Web pages (rel=me) come through the same rules: HTML only, the body
// cap, and never a refused address.
func TestGetHTML(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<p>hi</p>"))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{}"))
		case "/big":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(strings.Repeat("x", 2048)))
		}
	})
	c := newClient(t, Config{MaxBody: 1024}, map[string]*peer{"a.test": p})
	body, final, err := c.GetHTML(context.Background(), "http://a.test/page")
	if err != nil || string(body) != "<p>hi</p>" || final != "http://a.test/page" {
		t.Fatalf("page: %q %q %v", body, final, err)
	}
	if _, _, err := c.GetHTML(context.Background(), "http://a.test/json"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("JSON as a page: %v", err)
	}
	if _, _, err := c.GetHTML(context.Background(), "http://a.test/big"); errs.CodeOf(err) != errs.TooLarge {
		t.Errorf("big page: %v", err)
	}
	if _, _, err := c.GetHTML(context.Background(), "http://"+p.addr()+"/page"); err == nil {
		t.Errorf("a loopback address without an override was fetched")
	}
}
