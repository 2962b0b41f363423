package devenv

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
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
// returning once it accepts connections.
func (e *Env) StartPostgres(ctx context.Context) error {
	c, err := e.pg.restart(ctx, "-p")
	if err != nil {
		return err
	}
	e.pg = c
	return nil
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
// accepts connections.
func (e *Env) StartRedis(ctx context.Context) error {
	c, err := e.redis.restart(ctx, "--port")
	if err != nil {
		return err
	}
	e.redis = c
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

// restart starts the exited child's command again and waits for the port
// that follows portFlag in its arguments.
func (c *child) restart(ctx context.Context, portFlag string) (*child, error) {
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
	n, err := startChild(c.name, c.logPath, cred, c.stopSig, c.cmd.Path, args...)
	if err != nil {
		return nil, err
	}
	if err := waitTCP(ctx, port, n, 30*time.Second); err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
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
