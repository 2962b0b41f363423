package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// client serves the API on a loopback listener, as a web node serves
// it, and talks to it over keep-alive connections.
type client struct {
	addr  string
	conns chan *loopConn // idle keep-alive connections
	stop  func()
}

// startClient serves srv on a loopback listener; stop shuts it down.
func startClient(srv Server) (*client, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Listener(ln) }() // ends with Shutdown
	return &client{
		addr:  ln.Addr().String(),
		conns: make(chan *loopConn, 256),
		stop:  func() { _ = srv.Shutdown() },
	}, nil
}

var nextMaxID = regexp.MustCompile(`[?&]max_id=(\d+)[^>]*>; rel="next"`)

// getPage GETs a page of statuses on bench.test and returns its Link next
// max_id (0 when none) and the body's size.
func (b *client) getPage(token, path string) (int64, int, error) {
	req, err := http.NewRequest("GET", "http://"+b.addr+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body, err := b.do(req)
	if err != nil {
		return 0, 0, err
	}
	n := len(body)
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	var next int64
	if m := nextMaxID.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
		next, _ = strconv.ParseInt(m[1], 10, 64) // \d+: only overflow fails, read as the end
	}
	return next, n, nil
}

// loopConn is one keep-alive HTTP/1.1 connection of the load generator to
// the API on loopback (the machine's own listener: no outbound request,
// so not through federation/fetch).
type loopConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// do sends req over an idle connection (or a new one) and reads the whole
// response.
func (b *client) do(req *http.Request) (*http.Response, []byte, error) {
	var c *loopConn
	select {
	case c = <-b.conns:
	default:
		conn, err := net.DialTimeout("tcp", b.addr, 5*time.Second)
		if err != nil {
			return nil, nil, err
		}
		c = &loopConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	}
	if err := c.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		c.conn.Close()
		return nil, nil, err
	}
	if err := req.Write(c.conn); err != nil {
		c.conn.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		c.conn.Close()
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.conn.Close()
		return resp, body, err
	}
	select {
	case b.conns <- c:
	default:
		c.conn.Close()
	}
	return resp, body, nil
}
