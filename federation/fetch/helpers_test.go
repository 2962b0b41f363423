package fetch

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// peer is a real HTTP server on a loopback address that counts what
// reaches it: TCP connections and requests.
type peer struct {
	*httptest.Server
	conns    atomic.Int64
	requests atomic.Int64
}

// newPeer serves h on ip (a 127.0.0.x address, falling back to 127.0.0.1
// where only that one is configured), over TLS with HTTP/2 when secure.
func newPeer(t *testing.T, ip string, secure bool, h http.HandlerFunc) *peer {
	t.Helper()
	p := &peer{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		h(w, r)
	}))
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	p.Listener.Close()
	p.Listener = ln
	p.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	p.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			p.conns.Add(1)
		}
	}
	if secure {
		p.EnableHTTP2 = true
		p.StartTLS()
	} else {
		p.Start()
	}
	t.Cleanup(p.Close)
	return p
}

// addr is the peer's ip:port.
func (p *peer) addr() string { return p.Listener.Addr().String() }

// port is the peer's port, for URLs that name it.
func (p *peer) port() string {
	_, port, _ := net.SplitHostPort(p.addr())
	return port
}

// roots trusts p's test certificate.
func (p *peer) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Certificate())
	return pool
}

// newClient returns a Client whose Resolve maps each host to its peer.
func newClient(t *testing.T, cfg Config, hosts map[string]*peer) *Client {
	t.Helper()
	cfg.Resolve = map[string]string{}
	for host, p := range hosts {
		cfg.Resolve[host] = p.addr()
	}
	c := New(cfg)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// serveJSON answers with body as contentType.
func serveJSON(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	}
}

// note is a minimal ActivityStreams object with the given id.
func note(id string) string {
	b, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id,
		"type":     "Note",
		"content":  "hello",
	})
	return string(b)
}

const asType = "application/activity+json"

func assertCode(t *testing.T, err error, want errs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := errs.CodeOf(err); got != want {
		t.Fatalf("got %s (%v), want %s", got, err, want)
	}
}

// assertRefusedInDialer checks that err came from the dialer's address
// check, not from an earlier URL rule or a failed connection.
func assertRefusedInDialer(t *testing.T, err error) {
	t.Helper()
	assertCode(t, err, errs.Forbidden)
	var refused *refusedError
	if !errors.As(err, &refused) {
		t.Fatalf("error %v was not raised by the dialer", err)
	}
}

func assertUntouched(t *testing.T, p *peer) {
	t.Helper()
	if n, m := p.conns.Load(), p.requests.Load(); n != 0 || m != 0 {
		t.Fatalf("peer saw %d connections and %d requests, want none", n, m)
	}
}
