// Package stripemock runs stripe-mock, Stripe's own API mock (validating
// requests against Stripe's OpenAPI spec), on a loopback port for tests.
// devenv.StripeMock builds it once per machine.
package stripemock

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/devenv"
)

// Start runs stripe-mock for the test and returns its base URL
// (http://127.0.0.1:PORT); it stops when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := devenv.StripeMock(devenv.Options{Install: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out lockedBuffer
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:") // no fixed HTTPS port
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("stripe-mock output:\n%s", out.String())
		}
	})
	// stripe-mock reads Stripe's whole OpenAPI spec before it listens: a
	// second on a quiet machine, more than 20 s on a busy one (CI beside
	// the soak). Wait while it runs, up to a bound far above that.
	url := "http://" + addr
	deadline := time.Now().Add(startBound)
	for {
		resp, err := http.Get(url + "/v1/customers/cus_probe")
		if err == nil {
			resp.Body.Close()
			return url
		}
		select {
		case <-exited:
			t.Fatalf("stripe-mock exited before it answered: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not answer within %s: %v\n%s", startBound, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startBound is how long Start waits for stripe-mock to answer.
const startBound = 3 * time.Minute

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
