package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The README's first command: `roost dev` provisions PostgreSQL and Redis,
// serves the demo account, stops its servers on SIGTERM, and on a second
// start reuses its data and prints the same demo login.
func TestDevNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the unprivileged postgres user must reach it
	removeDevData(t, dir)
	var passwords []string
	for run := 0; run < 2; run++ {
		addr := freeAddr(t)
		cmd := exec.Command(roostBin(t), "dev")
		cmd.Env = append(cleanEnv(), "ROOST_DEV_DIR="+dir, "ROOST_HTTP_ADDR="+addr)
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pwc := make(chan string, 1)
		go scanPassword(stdout, pwc)
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		body := waitHTTP(t, "http://"+addr+"/.well-known/webfinger?resource=acct:demo@localhost", "localhost", 200)
		if !strings.Contains(string(body), `"href":"http://localhost:`+port+`/users/demo"`) {
			t.Fatalf("webfinger: %s", body)
		}
		waitHTTP(t, "http://"+addr+"/users/demo", "localhost:"+port, 200)
		passwords = append(passwords, <-pwc)

		pgPID := postmasterPID(t, filepath.Join(dir, "postgres"))
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("roost dev exit: %v\n%s", err, stderr.String())
		}
		if syscall.Kill(pgPID, 0) == nil {
			t.Fatalf("postgres (pid %d) still running after roost dev stopped", pgPID)
		}
	}
	if passwords[0] == "" || passwords[0] != passwords[1] {
		t.Fatalf("demo passwords %q: want the same non-empty one on both starts", passwords)
	}
}

var passwordRE = regexp.MustCompile(`Demo login: demo@localhost / (\S+)`)

func scanPassword(r io.Reader, out chan<- string) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		if m := passwordRE.FindStringSubmatch(s.Text()); m != nil {
			out <- m[1]
		}
	}
	close(out)
}

func postmasterPID(t *testing.T, data string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
