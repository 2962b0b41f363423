package devenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Fault tests (cmd/roost's issue 19 tests, roost soak) stop a server under
// running nodes and start it again on the same port and data. The server
// is the child Start made; a restart is a new child with the same command.

// StopPostgres stops PostgreSQL as pg_ctl would: "fast" (SIGINT: roll
// back sessions, checkpoint, exit) or "immediate" (SIGQUIT: exit at once,
// crash recovery at the next start), and waits for it to exit.
func (e *Env) StopPostgres(mode string) error {
	sig := map[string]syscall.Signal{"fast": syscall.SIGINT, "immediate": syscall.SIGQUIT}[mode]
	if sig == 0 {
		return fmt.Errorf("stop postgres: mode %q is not fast or immediate", mode)
	}
	return e.pg.stopWith(sig)
}

// StartPostgres starts a stopped PostgreSQL again on its port and data,
// returning once it answers a query (after crash recovery, when stopped
// "immediate"). See restart for how long it tries.
func (e *Env) StartPostgres(ctx context.Context) error {
	c, err := e.pg.restart(ctx, "-p", e.postgresReady)
	if err != nil {
		return err
	}
	e.pg = c
	return nil
}

// postgresReady is nil once the server accepts a session and answers one
// query ("the database system is starting up" or "in recovery" is not).
func (e *Env) postgresReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.AdminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "select 1")
	return err
}

// StopRedis stops Redis: cleanly (SIGTERM) or, with kill, by SIGKILL. It
// keeps no data either way (Start runs it without persistence).
func (e *Env) StopRedis(kill bool) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	return e.redis.stopWith(sig)
}

// StartRedis starts a stopped Redis again on its port, returning once it
// answers PING (not while it loads a snapshot). See restart for how long
// it tries.
func (e *Env) StartRedis(ctx context.Context) error {
	c, err := e.redis.restart(ctx, "--port", e.redisReady)
	if err != nil {
		return err
	}
	e.redis = c
	return nil
}

// redisReady is nil once Redis answers PING with PONG.
func (e *Env) redisReady(ctx context.Context) error {
	u, err := url.Parse(e.RedisURL)
	if err != nil {
		return err
	}
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", u.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second)) // the read below reports a timeout
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered PING with %s", strings.TrimSpace(line))
	}
	return nil
}

// stopWith sends sig and waits for the server to exit.
func (c *child) stopWith(sig syscall.Signal) error {
	if c == nil {
		return fmt.Errorf("devenv: server not started here")
	}
	if c.exited() {
		return nil
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not exit within 30s of %v", c.name, sig)
	}
}

// RestartBound is how long a restart keeps trying before it reports
// failure. It is generous: on a machine loaded to 50 a server's start-up
// (PostgreSQL's crash recovery) takes seconds, not the milliseconds it
// takes when idle, and a restart that gives up leaves the server down.
var RestartBound = 3 * time.Minute

// restart starts the exited child's command again, on the port that
// follows portFlag in its arguments, and probes ready until it answers.
// A start that fails (the child exits: its port briefly taken, the old
// server's shared memory not yet released) is tried again every second,
// until RestartBound; the error then quotes the server's log.
func (c *child) restart(ctx context.Context, portFlag string, ready func(context.Context) error) (*child, error) {
	if c == nil || !c.exited() {
		return nil, fmt.Errorf("devenv: restart of a server that is not stopped")
	}
	args := c.cmd.Args[1:]
	port := 0
	for i, a := range args {
		if a == portFlag && i+1 < len(args) {
			port, _ = strconv.Atoi(args[i+1])
		}
	}
	if port == 0 {
		return nil, fmt.Errorf("devenv: no %s in %s's arguments", portFlag, c.name)
	}
	var cred *syscall.Credential
	if c.cmd.SysProcAttr != nil {
		cred = c.cmd.SysProcAttr.Credential
	}
	start := time.Now()
	deadline := start.Add(RestartBound)
	var lastErr error
	for tries := 1; ; tries++ {
		n, err := startChild(c.name, c.logPath, cred, c.stopSig, c.cmd.Path, args...)
		if err != nil {
			return nil, err
		}
		for {
			if lastErr = ready(ctx); lastErr == nil {
				return n, nil
			}
			if n.exited() || ctx.Err() != nil || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		exited := n.exited()
		if !exited {
			_ = n.stop() // the probe's error is the one to report
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not come back on port %d within %s (%d starts; exited: %v; last probe: %v); its log ends:\n%s",
				c.name, port, RestartBound, tries, exited, lastErr, logTail(c.logPath, 1500))
		}
		time.Sleep(time.Second)
	}
}

// logTail is the end of a server's log, for an error.
func logTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart) // a short read below tells
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// PostgresDataDir is the directory PostgreSQL keeps its data in. When the
// caller's Dir is not reachable by the user PostgreSQL runs as (root's
// t.TempDir()), that is a directory under the system temporary directory
// that Dir only links to, and that outlives Dir: tests remove it after
// Stop, or every run leaves its cluster (~100 MB) behind.
func (e *Env) PostgresDataDir() string {
	if e.pg == nil {
		return ""
	}
	args := e.pg.cmd.Args
	for i, a := range args {
		if a == "-D" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// StopAndRemove stops both servers and removes PostgreSQL's data
// directory: what a test that started its own cluster calls at cleanup.
func (e *Env) StopAndRemove() error {
	dir := e.PostgresDataDir()
	err := e.Stop()
	if dir != "" {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// EnsureRunning starts again a server that a fault stopped and whose
// restart failed, so that a run can finish with both servers up.
func (e *Env) EnsureRunning(ctx context.Context) error {
	if e.pg != nil && e.pg.exited() {
		if err := e.StartPostgres(ctx); err != nil {
			return err
		}
	}
	if e.redis != nil && e.redis.exited() {
		return e.StartRedis(ctx)
	}
	return nil
}
