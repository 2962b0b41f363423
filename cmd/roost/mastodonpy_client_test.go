package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsAPINode starts one node serving HTTPS (ROOST_TLS=self-signed: the
// instance's local CA issues on demand) with tenants a.test (alice, bob)
// and b.test (carol), and `roost work`. It returns the node, its HTTPS
// address and the CA certificate (PEM) to trust.
func tlsAPINode(t *testing.T) (*node, string, []byte) {
	t.Helper()
	httpsAddr, redirectAddr := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(httpsAddr)
	n := startNode(t, "tlsapi", freeAddr(t), "")
	n.env = append(n.env, "ROOST_TLS=self-signed", "ROOST_HTTPS_ADDR="+httpsAddr,
		"ROOST_HTTP_REDIRECT_ADDR="+redirectAddr, "ROOST_URL_SCHEME=https", "ROOST_PUBLIC_PORT="+port)
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, a := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@"+a[0], "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	deadline := time.Now().Add(60 * time.Second) // liveness bound: the first certificates are issued on demand
	for _, host := range []string{"a.test", "b.test"} {
		for {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", httpsAddr,
				&tls.Config{ServerName: host, InsecureSkipVerify: true})
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no TLS handshake for %s: %v", host, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	ca := n.query(t, `select convert_from(value, 'UTF8') from cert_storage where key = 'roost/local-ca/ca.crt'`)
	if !strings.Contains(ca, "BEGIN CERTIFICATE") {
		t.Fatalf("the instance's local CA: %s", ca)
	}
	return n, httpsAddr, []byte(ca)
}

// debianPython is the Python that Debian's python3-mastodon is installed
// for (a python3 earlier on PATH, e.g. pyenv's, would not see it).
func debianPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil && exec.Command(path, "-c", "import mastodon").Run() == nil {
			return path
		}
	}
	t.Fatal("Mastodon.py is not installed; the README's test command installs it, or run: apt-get install -y python3-mastodon")
	return ""
}

// TestMastodonPyClient drives the client API with Mastodon.py over HTTPS
// against real `roost serve` and `roost work` processes: app
// registration, OAuth through the sign-in page, posting, a reply with
// media and alt text, the thread, v1 notifications (a mention and a
// favourite), search, and the user and public streams heard through
// Mastodon.py's StreamListener (whose SSE parser rejected Roost's framing
// before: issue 17 finding 3), and a followee read by its followers
// (issue 21): followed while the stream is open, on the home timeline and
// the stream without a feed row.
func TestMastodonPyClient(t *testing.T) {
	t.Parallel()
	python := debianPython(t)
	n, addr, ca := tlsAPINode(t)
	n.run(t, "account", "create", "--domain", "a.test", "--username", "dave", "--email", "dave@a.test", "--password", testPassword)
	if got := n.query(t, `select home_pull(id) from accounts where username = 'dave'`); got != "true" {
		t.Fatalf("marking dave read: %s", got)
	}
	_, port, _ := net.SplitHostPort(addr)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "mastodonpy_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script)
	cmd.Env = append(os.Environ(), "ROOST_BASE=https://a.test:"+port, "ROOST_PASSWORD="+testPassword,
		"REQUESTS_CA_BUNDLE="+caFile, "SSL_CERT_FILE="+caFile, "PYTHONDONTWRITEBYTECODE=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	var got struct {
		Error                 string   `json:"error"`
		Me                    string   `json:"me"`
		Home                  int      `json:"home"`
		NotificationTypes     []string `json:"notification_types"`
		StreamedUpdates       int      `json:"streamed_updates"`
		StreamedPublic        int      `json:"streamed_public"`
		StreamedNotifications []string `json:"streamed_notifications"`
		MediaURL              string   `json:"media_url"`
		ReadPost              string   `json:"read_post"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || runErr != nil || got.Error != "" {
		t.Fatalf("Mastodon.py: %v %s\nstdout: %s\nstderr: %s", runErr, got.Error, out.String(), errb.String())
	}
	if got.Me != "alice" || got.Home < 2 || got.StreamedUpdates < 1 || got.StreamedPublic < 1 {
		t.Fatalf("Mastodon.py saw %+v", got)
	}
	for _, want := range []string{"mention", "favourite"} {
		if !strings.Contains(strings.Join(got.NotificationTypes, ","), want) {
			t.Fatalf("notification types %v lack %s", got.NotificationTypes, want)
		}
	}
	if !strings.HasPrefix(got.MediaURL, "https://a.test:"+port+"/") {
		t.Fatalf("media URL %q is not on the tenant's HTTPS origin", got.MediaURL)
	}
	if rows := n.query(t, `select count(*) from home_feeds where status_id = $1::bigint`, got.ReadPost); rows != "1" {
		t.Errorf("the read author's post has %s home-feed rows, want 1 (his own): it was filed, not read", rows)
	}
}
