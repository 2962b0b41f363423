package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// child is a server process that receives stopSig when the parent dies
// (PR_SET_PDEATHSIG), so even a kill -9 of roost leaves no server behind.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	stopSig syscall.Signal
}

// startChild starts bin with args, output appended to logPath, running as
// runAs (nil: the current user).
func startChild(name, logPath string, runAs *syscall.Credential, stopSig syscall.Signal, bin string, args ...string) (*child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: stopSig, Credential: runAs, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{}), stopSig: stopSig}
	go func() {
		cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends the clean-shutdown signal and waits, escalating to SIGKILL.
func (c *child) stop() error {
	if c.exited() {
		return nil
	}
	c.cmd.Process.Signal(c.stopSig)
	select {
	case <-c.done:
		return nil
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within 15s; killed", c.name)
	}
}

// unprivileged returns credentials to drop to when running as root, which
// PostgreSQL refuses: the "postgres" user the Debian package creates, else
// "nobody". It returns nil when not root.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root, but neither a postgres nor a nobody user exists to run PostgreSQL as")
}
