package devenv

import (
	"io"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// Issue 19: at load 50 the soak's Redis and PostgreSQL sometimes stayed
// down after a fault's restart (Redis 2.5 minutes once). Their ports came
// from the kernel's ephemeral range, so while a server was stopped any
// outgoing connection on the machine could be given its port, and the
// new server's bind failed; the restart waited only for the port to
// accept a connection and gave up after 30 s, leaving the server down.
// Ports now come from below the ephemeral range.
func TestIssue19PortsBelowTheEphemeralRange(t *testing.T) {
	lo := ephemeralLow()
	if lo <= minPort+1000 {
		t.Skip("no room below the ephemeral range here")
	}
	for range 20 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < minPort || p >= lo {
			t.Fatalf("port %d is not in [%d, %d)", p, minPort, lo)
		}
	}
}

// A restart whose port is held by someone else for a while (the new
// server exits: address in use) starts it again until it answers its
// probe, rather than taking the squatter's accepted connection for the
// server (old code) or giving up.
func TestIssue19RestartRetriesUntilTheServerAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env, err := Start(t.Context(), Options{Dir: dir, Install: true, SkipPostgres: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	if err := env.StopRedis(true); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	squatter, err := net.Listen("tcp", u.Host) // the port, taken while Redis is down
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := squatter.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	time.AfterFunc(3*time.Second, func() { squatter.Close() })
	if err := env.StartRedis(t.Context()); err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Fatalf("StartRedis returned, but nothing listens on Redis's port: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second)) // the read below reports a timeout
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if n, err := io.ReadAtLeast(conn, buf, 5); err != nil || string(buf[:n]) != "+PONG\r\n" {
		t.Fatalf("StartRedis returned, but Redis does not answer PING on its port: %q %v", buf[:n], err)
	}
}
