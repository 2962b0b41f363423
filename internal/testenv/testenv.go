// Package testenv gives tests real PostgreSQL and Redis: the servers the
// README's test command starts (ROOST_TEST_DATABASE_URL,
// ROOST_TEST_REDIS_URL), or private ones it starts itself when a package is
// tested alone. Every test gets its own database, cloned from a migrated
// template, and its own Redis key prefix.
package testenv

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/migrations"
)

var (
	adminURL string
	redisURL string
	admin    *pgxpool.Pool
	counter  atomic.Int64

	templateOnce sync.Once
	templateName string
	templateErr  error

	tempMu   sync.Mutex
	tempDirs []string
)

// TempDir makes a directory that lives as long as the package's tests, for
// what is built once per run (a roost binary) and would otherwise be left in
// the system's temp directory after every run.
func TempDir(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	tempMu.Lock()
	tempDirs = append(tempDirs, dir)
	tempMu.Unlock()
	return dir, nil
}

func removeTempDirs() {
	tempMu.Lock()
	defer tempMu.Unlock()
	for _, dir := range tempDirs {
		os.RemoveAll(dir)
	}
	tempDirs = nil
}

// Main runs a package's tests with services available; call it from
// TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	defer removeTempDirs()
	adminURL, redisURL = os.Getenv("ROOST_TEST_DATABASE_URL"), os.Getenv("ROOST_TEST_REDIS_URL")
	if adminURL == "" || redisURL == "" {
		dir, err := os.MkdirTemp("", "roost-testenv-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		env, err := devenv.Start(context.Background(), devenv.Options{Dir: dir, Install: true, Database: "roost_test"})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv: starting PostgreSQL and Redis:", err)
			return 1
		}
		defer env.Stop()
		adminURL, redisURL = env.AdminURL, env.RedisURL
	}
	var err error
	if admin, err = pgxpool.New(context.Background(), adminURL); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	defer admin.Close()
	return m.Run()
}

// DatabaseURL creates a fresh, migrated database for t, dropped when t
// ends, and returns its URL (for subprocesses or own pools).
func DatabaseURL(t testing.TB) string {
	t.Helper()
	if admin == nil {
		t.Fatal("testenv: call testenv.Main from TestMain")
	}
	templateOnce.Do(func() { templateName, templateErr = buildTemplate() })
	if templateErr != nil {
		t.Fatalf("testenv: template database: %v", templateErr)
	}
	name := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, counter.Add(1))
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "create database "+name+" template "+templateName); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "drop database if exists "+name+" with (force)")
	})
	return withDatabase(adminURL, name)
}

// DB returns a pool on a fresh, migrated database for t.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	db, err := pgxpool.New(context.Background(), DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// EmptyDatabaseURL creates a fresh database with no migrations applied.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("e_%d_%d", os.Getpid(), counter.Add(1))
	if _, err := admin.Exec(context.Background(), "create database "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "drop database if exists "+name+" with (force)") })
	return withDatabase(adminURL, name)
}

// buildTemplate migrates a template database once per migration set; an
// advisory lock serialises packages building it concurrently.
func buildTemplate() (string, error) {
	ctx := context.Background()
	name := "roost_tmpl_" + migrations.Checksum()
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	h := fnv.New64a()
	h.Write([]byte(name))
	lock := int64(h.Sum64() >> 1)
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lock); err != nil {
		return "", err
	}
	defer conn.Exec(ctx, "select pg_advisory_unlock($1)", lock)
	var exists bool
	if err := conn.QueryRow(ctx, "select exists(select 1 from pg_database where datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	conn.Exec(ctx, "drop database if exists "+building+" with (force)")
	if _, err := conn.Exec(ctx, "create database "+building); err != nil {
		return "", err
	}
	mc, err := pgx.Connect(ctx, withDatabase(adminURL, building))
	if err != nil {
		return "", err
	}
	_, _, err = migrations.Migrate(ctx, mc)
	mc.Close(ctx)
	if err != nil {
		return "", err
	}
	// Renamed only once complete, so a crashed build is never cloned.
	_, err = conn.Exec(ctx, "alter database "+building+" rename to "+name)
	return name, err
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Redis returns a client on the test Redis and a key prefix unique to t;
// keys under the prefix are deleted when t ends.
func Redis(t testing.TB) (*goredis.Client, string) {
	t.Helper()
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	prefix := fmt.Sprintf("test:%d:%d:", os.Getpid(), counter.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c, prefix
}

// RedisURL is the test Redis's URL, for subprocesses.
func RedisURL() string { return redisURL }
