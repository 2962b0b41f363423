package interop

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/testenv"
)

// roostPassword is the password of every Roost account the tests make.
const roostPassword = "long enough password"

// roostNode is one Roost instance: `roost serve` on ip:443 with its own
// certificates (ROOST_TLS=self-signed) and `roost work`, on a database and
// Redis prefix of their own.
type roostNode struct {
	host, ip string
	db       string
	env      []string
	serve    *proc
	work     *proc
}

// newRoost prepares a node for host on ip: a tenant on host, nothing
// started. resolve is its ROOST_FEDERATION_RESOLVE; caFile the roots it
// trusts for its peers (SSL_CERT_FILE, read by Go's system root pool).
func newRoost(t *testing.T, host, ip, resolve, caFile string) *roostNode {
	t.Helper()
	n := &roostNode{host: host, ip: ip, db: testenv.DatabaseURL(t)}
	n.env = append(cleanEnv(),
		"ROOST_DATABASE_URL="+n.db,
		"ROOST_REDIS_URL="+testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:interop:%s:", os.Getpid(), host),
		"ROOST_TLS=self-signed",
		"ROOST_HTTPS_ADDR="+ip+":443",
		"ROOST_HTTP_REDIRECT_ADDR="+ip+":80",
		"ROOST_URL_SCHEME=https",
		"ROOST_FEDERATION_RESOLVE="+resolve,
		"ROOST_LOG_LEVEL=debug",
		"ROOST_MEDIA_DIR="+t.TempDir(),
		"SSL_CERT_FILE="+caFile,
	)
	n.roost(t, "tenant", "create", "--name", "Roost interop", "--domain", host)
	return n
}

// roost runs a one-shot roost command.
func (n *roostNode) roost(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, n.env, roostBin(t), args...)
}

func (n *roostNode) createAccount(t *testing.T, username string) {
	t.Helper()
	n.roost(t, "account", "create", "--domain", n.host, "--username", username,
		"--email", username+"@"+n.host, "--password", roostPassword)
}

// start runs the web node and the worker.
func (n *roostNode) start(t *testing.T) {
	t.Helper()
	for _, c := range []string{"serve", "work"} {
		cmd := exec.Command(roostBin(t), c)
		cmd.Env = n.env
		p := startProc(t, "roost "+c, cmd)
		if c == "serve" {
			n.serve = p
		} else {
			n.work = p
		}
	}
}

// waitReady waits until the web node completes a TLS handshake for its
// host (obtaining its certificate from the instance's local CA), then
// returns that CA (PEM), read from the certificate storage every node shares.
func (n *roostNode) waitReady(t *testing.T) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.ip+":443",
			&tls.Config{ServerName: n.host, InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			break
		}
		if n.serve.exited() || time.Now().After(deadline) {
			t.Fatalf("roost serve never completed a TLS handshake for %s: %v\n%s", n.host, err, tail(n.serve.log(), 60))
		}
		time.Sleep(200 * time.Millisecond)
	}
	pemBytes, err := queryDB(t, n.db, `select value from cert_storage where key = 'roost/local-ca/ca.crt'`)
	if err != nil {
		t.Fatalf("roost's local CA: %v", err)
	}
	return pemBytes
}

// failures describes what Roost's own records say went wrong: inbox items
// its worker could not apply and deliveries not delivered (the worker logs
// neither line by line). For the report of a failed test only.
func (n *roostNode) failures(t *testing.T) string {
	t.Helper()
	v, err := queryDB(t, n.db, `select convert_to(coalesce(string_agg(line, E'\n'), '(none)'), 'UTF8') from (
		select 'inbox item ' || (activity->>'type') || ' ' || activity_id || ' from ' || actor_uri || ': ' || last_error as line
			from inbox_items where last_error is not null
		union all
		select 'delivery ' || activity_id || ' to ' || inbox_url || ' (' || state || ', ' || attempts || ' attempts): ' ||
			coalesce(last_status::text, '-') || ' ' || coalesce(last_error, '')
			from deliveries where state <> 'delivered') f`)
	if err != nil {
		return "reading Roost's failures: " + err.Error()
	}
	return string(v)
}
