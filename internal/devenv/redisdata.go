package devenv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// `roost soak` restarts Redis both ways a real one comes back: with its
// data (a snapshot written by SAVE, which Redis loads from its directory
// at start even though Start turns periodic saving off) and empty (no
// snapshot).

// SaveRedis writes a snapshot of Redis's data into its directory (SAVE);
// the next StartRedis loads it.
func (e *Env) SaveRedis() error {
	if e.redis == nil {
		return errors.New("devenv: Redis not started here")
	}
	u, err := url.Parse(e.RedisURL)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // a loopback connection; the read below reports a timeout
	if _, err := conn.Write([]byte("SAVE\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+OK") {
		return fmt.Errorf("redis SAVE: %s", strings.TrimSpace(line))
	}
	return nil
}

// DropRedisData removes Redis's snapshot, so that the next StartRedis
// starts empty.
func (e *Env) DropRedisData() error {
	if e.redis == nil {
		return errors.New("devenv: Redis not started here")
	}
	err := os.Remove(filepath.Join(filepath.Dir(e.redis.logPath), "dump.rdb"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
