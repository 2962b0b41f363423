package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// Issue 18: `roost dev` shows the demo account's posts at
// http://localhost:PORT on its first start, with its avatar visible, and
// a restart adds nothing.
func TestIssue18DevSeedsTheDemoAccount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the unprivileged postgres user must reach it
	addr := freeAddr(t)  // one port, as a newcomer's 8080: stored URLs name it
	for run := range 2 {
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		cmd := exec.Command(roostBin(t), "dev")
		cmd.Env = append(cleanEnv(), "ROOST_DEV_DIR="+dir, "ROOST_HTTP_ADDR="+addr)
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pwc := make(chan string, 1)
		go scanPassword(stdout, pwc) // the banner comes after the seeding
		if <-pwc == "" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no banner:\n%s", stderr.String())
		}
		get := func(path, accept string) (*http.Response, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
			req.Host = "localhost:" + port
			req.Header.Set("Accept", accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		r, page := get("/", "text/html")
		if r.StatusCode != 200 {
			t.Fatalf("run %d: / answered %d", run, r.StatusCode)
		}
		for _, want := range []string{"Roost Demo", "Hello from Roost!", `href="http://localhost:` + port + `/tags/roost"`,
			`alt="A square of soft colour bands`, "A phone", "Runs on", "The demo account of this Roost node"} {
			if !strings.Contains(page, want) {
				t.Errorf("run %d: the front page lacks %q", run, want)
			}
		}
		avatar := regexp.MustCompile(`<img class="avatar big u-photo" src="([^"]+)"`).FindStringSubmatch(page)
		if avatar == nil || strings.HasSuffix(avatar[1], "/missing.png") ||
			!strings.HasPrefix(avatar[1], "http://localhost:"+port+"/") {
			t.Fatalf("run %d: avatar %v", run, avatar)
		}
		if !strings.Contains(r.Header.Get("Content-Security-Policy"), "img-src 'self' http://localhost:"+port) {
			t.Errorf("run %d: the page's policy blocks its avatar: %s", run, r.Header.Get("Content-Security-Policy"))
		}
		if r, _ := get(strings.TrimPrefix(avatar[1], "http://localhost:"+port), "image/*"); r.StatusCode != 200 ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "image/") {
			t.Errorf("run %d: avatar answered %d %q", run, r.StatusCode, r.Header.Get("Content-Type"))
		}
		_, body := get("/api/v1/accounts/lookup?acct=demo", "application/json")
		var demo struct {
			StatusesCount int `json:"statuses_count"`
		}
		if err := json.Unmarshal([]byte(body), &demo); err != nil || demo.StatusesCount != 4 {
			t.Errorf("run %d: the demo account has %d posts (%v): want the 4 seeded once", run, demo.StatusesCount, err)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("roost dev exit: %v\n%s", err, stderr.String())
		}
	}
}
