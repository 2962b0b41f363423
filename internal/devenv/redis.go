package devenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func startRedis(ctx context.Context, o Options) (*child, string, error) {
	bin, err := redisBin(o)
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(o.Dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	// Redis only dispatches work; PostgreSQL holds the truth, so nothing is
	// persisted here.
	c, err := startChild("redis-server", filepath.Join(dir, "redis.log"), nil, syscall.SIGTERM, bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no")
	if err != nil {
		return nil, "", err
	}
	if err := waitTCP(ctx, port, c, 15*time.Second); err != nil {
		c.stop()
		return nil, "", err
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	o.Logf("redis: %s", url)
	return c, url, nil
}
