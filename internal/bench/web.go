package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WebOptions are the flags of `roost bench web`.
type WebOptions struct {
	Requests    int    // timed reads per page
	Concurrency int    // reads in flight
	CPUProfile  string // a CPU profile of the timed reads of every page, when set
}

// Web measures the public pages (api/public) a visitor opens, beside the
// client API's JSON for the same posts, through the app as a web node
// serves it, on a loopback listener.
type Web struct {
	Env
	API
}

// webPage is one measured read.
type webPage struct {
	Name string
	Path string
	HTML bool
	// SignedIn sends a (made-up) web app session cookie: the public
	// pages' cache never answers a signed-in browser, so this measures a
	// page rendered for every read.
	SignedIn bool
}

// Run seeds one tenant (bench.test) with an author of 20 posts and a
// 21-post thread between two accounts, then reads, anonymously: the
// author's profile page (20 posts) and a post page in the middle of the
// thread (20 others around it), each as the page cache serves a
// signed-out visitor and as rendered for every read (a signed-in
// browser, which the cache never answers), and the client API's JSON of
// the same: the author's statuses (limit 20) and the post's context.
func (b Web) Run(ctx context.Context, o WebOptions) (map[string]any, error) {
	out := b.progress()
	tn, err := b.Tenants.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return nil, err
	}
	author, err := b.CreateAccount(ctx, "bench.test", "author", "author@bench.test", "bench password", "The Author")
	if err != nil {
		return nil, err
	}
	replier, err := b.CreateAccount(ctx, "bench.test", "replier", "replier@bench.test", "bench password", "The Replier")
	if err != nil {
		return nil, err
	}
	srv, err := startClient(b.Server)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	tokens := map[int64]string{}
	for _, a := range []int64{author.ID, replier.ID} {
		if tokens[a], err = token(ctx, b.OAuth, tn.ID, a, "read write"); err != nil {
			return nil, err
		}
	}
	// The thread first, so the author's 20 newest posts fill the profile.
	var thread []string
	for i := range 21 {
		who, reply := author.ID, ""
		if i%2 == 1 {
			who = replier.ID
		}
		if i > 0 {
			reply = thread[i-1]
		}
		id, err := srv.post(tokens[who], fmt.Sprintf("Thread post %d, with a #bench tag and a few words to render.", i), reply)
		if err != nil {
			return nil, err
		}
		thread = append(thread, id)
	}
	for i := range 20 {
		if _, err := srv.post(tokens[author.ID], fmt.Sprintf("Post %d by the author, with a #bench tag and a few words to render as a real post would.", i), ""); err != nil {
			return nil, err
		}
	}
	mid := thread[10]
	fmt.Fprintf(out, "seeded 41 posts; reading each page %d times, %d at once\n", o.Requests, o.Concurrency)
	pages := []webPage{
		{"profile_html", "/@author", true, false},
		{"post_thread_html", "/@author/" + mid, true, false},
		{"profile_html_rendered", "/@author", true, true},
		{"post_thread_html_rendered", "/@author/" + mid, true, true},
		{"account_statuses_json", "/api/v1/accounts/" + strconv.FormatInt(author.ID, 10) + "/statuses?limit=20", false, false},
		{"status_context_json", "/api/v1/statuses/" + mid + "/context", false, false},
	}
	res := map[string]any{"bench": "web", "requests": o.Requests, "concurrency": o.Concurrency}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close() // a close error loses only the profile
		}()
	}
	for _, p := range pages {
		if _, err := srv.read(p); err != nil { // warm up, and check the page
			return nil, err
		}
		start := time.Now()
		lat, err := srv.readMany(p, o.Requests, o.Concurrency)
		if err != nil {
			return nil, err
		}
		wall := time.Since(start)
		res[p.Name] = map[string]any{"per_second": round1(float64(len(lat)) / wall.Seconds()),
			"p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99)}
	}
	return res, nil
}

// post publishes a public status through the client API and returns its id.
func (b *client) post(tok, text, inReplyTo string) (string, error) {
	form := url.Values{"status": {text}}
	if inReplyTo != "" {
		form.Set("in_reply_to_id", inReplyTo)
	}
	req, err := http.NewRequest("POST", "http://"+b.addr+"/api/v1/statuses", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := b.do(req)
	if err != nil {
		return "", err
	}
	var st struct{ ID string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil || st.ID == "" {
		return "", fmt.Errorf("post: %s %.200s", resp.Status, body)
	}
	return st.ID, nil
}

// read GETs one page as an anonymous browser (HTML) or app (JSON).
func (b *client) read(p webPage) (time.Duration, error) {
	req, err := http.NewRequest("GET", "http://"+b.addr+p.Path, nil)
	if err != nil {
		return 0, err
	}
	req.Host = "bench.test"
	if p.HTML {
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
	}
	if p.SignedIn {
		req.Header.Set("Cookie", "roost_web_session=bench")
	}
	t := time.Now()
	resp, body, err := b.do(req)
	d := time.Since(t)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || len(body) < 1000 {
		return 0, fmt.Errorf("GET %s: %s, %d bytes", p.Path, resp.Status, len(body))
	}
	return d, nil
}

// readMany reads p n times with conc workers and returns the latencies.
func (b *client) readMany(p webPage, n, conc int) ([]time.Duration, error) {
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	var firstErr error
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				d, err := b.read(p)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return lat, firstErr
}
