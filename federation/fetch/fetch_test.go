package fetch

import (
	"testing"
	"time"
)

// New fills defaults and configures one shared, bounded transport.
func TestNewDefaults(t *testing.T) {
	c := New(Config{Resolve: map[string]string{"A.Test": "127.0.0.1:80"}})
	tr := c.transport
	switch {
	case c.userAgent != DefaultUserAgent, c.maxBody != 1<<20, c.timeout != 10*time.Second, c.maxRedirects != 3:
		t.Errorf("defaults: %q %d %s %d", c.userAgent, c.maxBody, c.timeout, c.maxRedirects)
	case tr.MaxConnsPerHost != 8 || tr.MaxIdleConnsPerHost != 8:
		t.Errorf("per-host connections: %d, idle %d", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	case tr.MaxResponseHeaderBytes != 64<<10 || !tr.ForceAttemptHTTP2 || tr.DisableKeepAlives || tr.DisableCompression:
		t.Errorf("transport: %+v", tr)
	case tr.Proxy != nil:
		t.Error("a proxy would be dialled instead of the peer and escape the address check")
	case tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0:
		t.Errorf("timeouts: handshake %s, headers %s", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	case !c.resolved("a.test"):
		t.Error("Resolve keys are not case-insensitive")
	}
	c = New(Config{MaxConnsPerHost: 2, MaxRedirects: -1, MaxBody: 10, Timeout: time.Second})
	if c.transport.MaxConnsPerHost != 2 || c.maxRedirects != 0 || c.maxBody != 10 || c.timeout != time.Second {
		t.Errorf("explicit settings: %d %d %d %s", c.transport.MaxConnsPerHost, c.maxRedirects, c.maxBody, c.timeout)
	}
}
