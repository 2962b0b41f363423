package devenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// superuser is the database superuser initdb creates; trust auth on
// 127.0.0.1 only, which suits a private development or test cluster.
const superuser = "roost"

// PostgresSettingsEnv names extra settings (name=value, space-separated)
// for every private PostgreSQL this package starts.
const PostgresSettingsEnv = "ROOST_DEV_POSTGRES_SETTINGS"

func startPostgres(ctx context.Context, o Options) (*child, string, string, error) {
	bin, err := postgresBinDir(o)
	if err != nil {
		return nil, "", "", err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, "", "", err
	}
	data, err := dataDir(o, cred)
	if err != nil {
		return nil, "", "", err
	}
	if err := initdb(o, bin, data, cred); err != nil {
		return nil, "", "", err
	}
	stopOrphan(data)
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300", "-c", "shared_buffers=128MB"}
	if !o.Durable {
		// Without fsync a commit still reaches the kernel before it is
		// acknowledged (synchronous_commit stays on), so a killed or
		// immediately stopped PostgreSQL keeps every acknowledged commit:
		// only the machine itself crashing could lose one. With
		// synchronous_commit off the soak's immediate restarts lost posts
		// the API had answered 200 for (soak finding 11).
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	// Extra settings, e.g. to profile a benchmark's database:
	// ROOST_DEV_POSTGRES_SETTINGS='shared_preload_libraries=pg_stat_statements track_io_timing=on'.
	for _, kv := range strings.Fields(os.Getenv(PostgresSettingsEnv)) {
		args = append(args, "-c", kv)
	}
	// SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
	c, err := startChild("postgres", filepath.Join(data, "server.log"), cred, syscall.SIGINT, filepath.Join(bin, "postgres"), args...)
	if err != nil {
		return nil, "", "", err
	}
	if err := waitTCP(ctx, port, c, 30*time.Second); err != nil {
		c.stop()
		return nil, "", "", err
	}
	base := fmt.Sprintf("postgres://%s@127.0.0.1:%d/", superuser, port)
	admin := base + "postgres?sslmode=disable"
	if err := createDatabase(ctx, admin, o.Database); err != nil {
		c.stop()
		return nil, "", "", err
	}
	o.Logf("postgres: %s (data in %s)", base+o.Database, data)
	return c, admin, base + o.Database + "?sslmode=disable", nil
}

// dataDir returns Dir/postgres, or, when root and the unprivileged user
// cannot reach it (a checkout under /root), a directory under the system
// temporary directory linked from Dir/postgres.
func dataDir(o Options, cred *syscall.Credential) (string, error) {
	want := filepath.Join(o.Dir, "postgres")
	if cred == nil || reachable(o.Dir, cred.Uid) {
		return want, prepare(want, cred)
	}
	sum := sha256.Sum256([]byte(o.Dir))
	alt := filepath.Join(os.TempDir(), "roost-postgres-"+hex.EncodeToString(sum[:6]))
	o.Logf("postgres: %s is not reachable by uid %d; keeping data in %s", o.Dir, cred.Uid, alt)
	if err := prepare(alt, cred); err != nil {
		return "", err
	}
	if target, err := os.Readlink(want); err != nil || target != alt {
		os.Remove(want)
		if err := os.Symlink(alt, want); err != nil {
			return "", err
		}
	}
	return alt, nil
}

// reachable reports whether uid can traverse every ancestor of dir.
func reachable(dir string, uid uint32) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return false
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm()&0o001 == 0 && sys.Uid != uid {
			return false
		}
		if d == "/" {
			return true
		}
	}
}

func prepare(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o700)
}

func initdb(o Options, bin, data string, cred *syscall.Credential) error {
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	o.Logf("postgres: initdb %s", data)
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", superuser, "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// stopOrphan stops a server left running on data by an earlier process
// that could not stop it (one started before PR_SET_PDEATHSIG was in use, or
// by hand), so a new one can start.
func stopOrphan(data string) {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return
	}
	syscall.Kill(pid, syscall.SIGINT)
	for i := 0; i < 150; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	// The port opens before the server accepts sessions ("the database
	// system is starting up"): retry for a while.
	var conn *pgx.Conn
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		if conn, err = pgx.Connect(ctx, adminURL); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("connect to new cluster: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{name}.Sanitize())
	return err
}
