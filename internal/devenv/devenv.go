// Package devenv provisions private PostgreSQL and Redis servers for `roost
// dev` and for the test suite: files under one directory, loopback-only
// listeners on free ports, child processes that die with their parent.
package devenv

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options says where and how to provision.
type Options struct {
	// Dir holds postgres/ and redis/ subdirectories; created if missing.
	Dir string
	// Database is the database created for the caller (default "roost").
	Database string
	// Durable keeps fsync on. Tests turn it off for speed.
	Durable bool
	// Install lets a root process on Debian/Ubuntu apt-get missing packages.
	Install bool
	// SkipPostgres and SkipRedis leave out a server the caller already has.
	SkipPostgres, SkipRedis bool
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)
}

// Env is a running pair of servers.
type Env struct {
	DatabaseURL string // the created database
	AdminURL    string // the "postgres" maintenance database, superuser
	RedisURL    string

	pg    *child
	redis *child
}

// Start provisions and starts PostgreSQL and Redis. On error nothing it
// started is left running.
func Start(ctx context.Context, o Options) (*Env, error) {
	if o.Database == "" {
		o.Database = "roost"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	o.Dir = abs
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", abs, err)
	}
	e := &Env{}
	if !o.SkipPostgres {
		if e.pg, e.AdminURL, e.DatabaseURL, err = startPostgres(ctx, o); err != nil {
			return nil, err
		}
	}
	if !o.SkipRedis {
		if e.redis, e.RedisURL, err = startRedis(ctx, o); err != nil {
			e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// Stop shuts both servers down cleanly and waits for them.
func (e *Env) Stop() error {
	var errs []error
	if e.redis != nil {
		errs = append(errs, e.redis.stop())
	}
	if e.pg != nil {
		errs = append(errs, e.pg.stop())
	}
	return errors.Join(errs...)
}

// freePort returns an unused loopback port below the kernel's ephemeral
// range, so that while a server is stopped for a restart (roost soak's
// faults) no outgoing connection on the machine can be given its port as
// a source port: bind would then fail with "address already in use", and
// the server stay down until someone noticed (issue 19: Redis down 2.5
// minutes on a machine busy with other tests). Outside Linux, or when the
// range leaves no room below it, the kernel picks (an ephemeral port).
func freePort() (int, error) {
	if lo := ephemeralLow(); lo > minPort+1000 {
		for range 200 {
			port := minPort + mrand.IntN(lo-minPort)
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				l.Close()
				return port, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// minPort is the lowest port freePort picks: above the well-known and the
// usual development ports.
const minPort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux;
// 0 when unknown).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return lo
}

// waitTCP polls addr until it accepts a connection or ctx/deadline ends.
func waitTCP(ctx context.Context, port int, c *child, within time.Duration) error {
	deadline := time.Now().Add(within)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if c.exited() {
			return fmt.Errorf("%s exited during start-up; see %s", c.name, c.logPath)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %s; see %s", c.name, addr, within, c.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
