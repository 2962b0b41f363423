package bench

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/devenv"
	"golang.org/x/net/html"
)

// CompareOptions are the flags of `roost bench compare`.
type CompareOptions struct {
	// Duration is the length of each timed run (one per endpoint and
	// server), after a warm-up of a second.
	Duration time.Duration
	// Connections are the keep-alive connections of the load (wrk -c).
	Connections int
	// GoToSocialLog is GoToSocial's log level (Roost's nodes log at warn).
	GoToSocialLog string
}

// Compare runs GoToSocial and Roost side by side on this machine, seeds
// both the same way through their client APIs and loads both with the
// same requests.
type Compare struct {
	Env
	// Exe is the roost executable whose `serve` and `work` are measured.
	Exe string
	// DatabaseURL, RedisURL and RedisPrefix are the private servers'.
	DatabaseURL, RedisURL, RedisPrefix string
	// Out receives the table (stdout); the JSON line is the caller's.
	Out io.Writer
}

// CompareEndpoints are the measured requests, in order, with the ratio
// (Roost requests/s over GoToSocial's) each should reach.
var CompareEndpoints = []struct {
	Name   string
	Target float64
}{{"webfinger", 1.5}, {"instance", 1.5}, {"actor", 1.5}, {"profile_html", 5}, {"home_timeline", 2}}

// CompareRow is one endpoint's figures.
type CompareRow struct {
	Endpoint   string    `json:"endpoint"`
	GoToSocial *runStats `json:"gotosocial,omitempty"`
	Roost      *runStats `json:"roost"`
	// Ratio is Roost's requests/s over GoToSocial's (0 when either
	// served nothing).
	Ratio  float64 `json:"ratio"`
	Target float64 `json:"target"`
	// Note says what differs between the two requests, if anything.
	Note string `json:"note,omitempty"`
}

// compareServer is one of the two servers as the load sees it.
type compareServer struct {
	name, host, addr string
	password         string
	token            string // alice's
}

// Run starts both servers, seeds them, measures every endpoint on each in
// turn (GoToSocial, then Roost, so both see the same machine) and returns
// the JSON line; the table goes to Out.
func (b Compare) Run(ctx context.Context, o CompareOptions) (map[string]any, error) {
	out := b.progress()
	// GoToSocial refuses unsigned ActivityPub GETs; its fetch of the
	// signer needs a name it can resolve: a private /etc/hosts, root only.
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	key, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	if err != nil {
		return nil, err
	}
	var snd *sender
	hostsFile := ""
	if os.Geteuid() == 0 {
		if snd, err = startSender(kp.PublicPEM); err != nil {
			return nil, err
		}
		defer snd.close()
		if hostsFile, err = writeHosts(snd.ip); err != nil {
			return nil, err
		}
		defer os.Remove(hostsFile)
	} else {
		fmt.Fprintln(out, "not root: GoToSocial cannot resolve a signing actor, so its actor endpoint is not measured")
	}
	fmt.Fprintln(out, "starting GoToSocial...")
	gts, err := startGoToSocial(out, o.GoToSocialLog, hostsFile)
	if err != nil {
		return nil, err
	}
	defer gts.stop()

	fmt.Fprintln(out, "starting roost serve and roost work...")
	if _, err := b.Tenants.CreateTenant(ctx, "Compare", roostHost, ""); err != nil {
		return nil, err
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := b.CreateAccount(ctx, roostHost, u, u+"@"+roostHost, gtsPassword, strings.ToUpper(u[:1])+u[1:]); err != nil {
			return nil, err
		}
	}
	cluster, err := startLoadCluster(Load{Env: b.Env, Exe: b.Exe, DatabaseURL: b.DatabaseURL, RedisURL: b.RedisURL,
		RedisPrefix: b.RedisPrefix}, 1, 1, "auto")
	if err != nil {
		return nil, err
	}
	defer cluster.stop()

	servers := []*compareServer{
		{name: "GoToSocial", host: gtsHost, addr: gts.addr, password: gtsPassword},
		{name: "Roost", host: roostHost, addr: cluster.addrs[0], password: gtsPassword},
	}
	hc := compareClient(map[string]string{gtsHost: gts.addr, roostHost: cluster.addrs[0]})
	defer hc.CloseIdleConnections()
	if err := gts.ready(hc); err != nil {
		return nil, err
	}
	if err := gts.createAccounts("alice", "bob"); err != nil {
		return nil, err
	}
	for _, s := range servers {
		fmt.Fprintf(out, "seeding %s through its client API...\n", s.name)
		if err := seedCompare(hc, s); err != nil {
			return nil, fmt.Errorf("seed %s: %w", s.name, err)
		}
	}

	rows := make([]CompareRow, 0, len(CompareEndpoints))
	for _, e := range CompareEndpoints {
		row := CompareRow{Endpoint: e.Name, Target: e.Target}
		if e.Name == "actor" {
			row.Note = "GoToSocial requires a signed GET and verifies it; Roost's default (authorized fetch off) ignores the signature"
		}
		for _, s := range servers {
			if s.name == "GoToSocial" && e.Name == "actor" && snd == nil {
				continue
			}
			req, err := compareRequest(e.Name, s, key)
			if err != nil {
				return nil, err
			}
			h, err := newHammer(s.addr, req, o.Connections)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(out, "%s %s: warming up, then %s with %d connections...\n", s.name, e.Name, o.Duration, o.Connections)
			h.run(time.Second)
			st := h.run(o.Duration).stats(loadavg())
			if s.name == "GoToSocial" {
				row.GoToSocial = &st
			} else {
				row.Roost = &st
			}
		}
		if row.GoToSocial != nil && row.GoToSocial.RPS > 0 && row.Roost.RPS > 0 {
			row.Ratio = round3(row.Roost.RPS / row.GoToSocial.RPS)
		}
		rows = append(rows, row)
	}
	writeCompareTable(b.Out, rows)
	return map[string]any{"bench": "compare", "seconds": o.Duration.Seconds(), "connections": o.Connections,
		"gotosocial": devenv.GoToSocialVersion, "gotosocial_log_level": o.GoToSocialLog, "roost_log_level": "warn",
		"endpoints": rows}, nil
}

// writeHosts writes the /etc/hosts GoToSocial sees: the sender at ip.
func writeHosts(ip string) (string, error) {
	f, err := os.CreateTemp("", "roost-compare-hosts-")
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintf(f, "127.0.0.1 localhost\n::1 localhost\n%s %s\n", ip, senderHost)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	return f.Name(), err
}

// compareClient reaches the servers by their domains at their loopback
// addresses (plain HTTP, no system resolver).
func compareClient(addrs map[string]string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if a, ok := addrs[host]; ok {
				addr = a
			}
			return d.DialContext(ctx, network, addr)
		}}}
}

// compareRequest is the endpoint's request to s: WebFinger and the actor
// of bob, the instance document, bob's HTML profile, alice's home
// timeline (limit 20).
func compareRequest(endpoint string, s *compareServer, key crypto.PrivateKey) (*http.Request, error) {
	base := "http://" + s.host
	var r *http.Request
	switch endpoint {
	case "webfinger":
		r, _ = http.NewRequest("GET", base+"/.well-known/webfinger?resource=acct:bob@"+s.host, nil)
		r.Header.Set("Accept", "application/jrd+json")
	case "instance":
		r, _ = http.NewRequest("GET", base+"/api/v1/instance", nil)
		r.Header.Set("Accept", "application/json")
	case "actor":
		r, _ = http.NewRequest("GET", base+"/users/bob", nil)
		r.Header.Set("Accept", "application/activity+json")
		if err := signature.Sign(r, nil, "https://"+senderHost+"/users/bench#main-key", key, time.Now()); err != nil {
			return nil, err
		}
	case "profile_html":
		r, _ = http.NewRequest("GET", base+"/@bob", nil)
		r.Header.Set("Accept", "text/html")
	case "home_timeline":
		r, _ = http.NewRequest("GET", base+"/api/v1/timelines/home?limit=20", nil)
		r.Header.Set("Accept", "application/json")
		r.Header.Set("Authorization", "Bearer "+s.token)
	default:
		return nil, fmt.Errorf("unknown endpoint %q", endpoint)
	}
	r.Header.Set("User-Agent", compareUA)
	return r, nil
}

// writeCompareTable prints the rows as a Markdown table.
func writeCompareTable(w io.Writer, rows []CompareRow) {
	if w == nil {
		return
	}
	fmt.Fprintln(w, "| endpoint | GoToSocial req/s (p50 / p99 ms) | Roost req/s (p50 / p99 ms) | Roost / GoToSocial | target | load (GtS run, Roost run) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	cell := func(s *runStats) string {
		if s == nil {
			return "not measured"
		}
		c := fmt.Sprintf("%.0f (%.2f / %.2f)", s.RPS, s.P50, s.P99)
		if s.Errors > 0 {
			c += fmt.Sprintf(", %d errors %v", s.Errors, s.Status)
		}
		return c
	}
	load := func(s *runStats) string {
		if s == nil {
			return "-"
		}
		return s.Load1
	}
	for _, r := range rows {
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1f | %s, %s |\n", r.Endpoint, cell(r.GoToSocial), cell(r.Roost), ratio, r.Target,
			load(r.GoToSocial), load(r.Roost))
	}
}

// seedCompare seeds s through its client API as a person with an app
// would: alice and bob sign in (OAuth on the server's own pages), alice
// follows bob, bob posts 40 times and alice 20, and alice's home timeline
// is waited for until it holds a full page.
func seedCompare(hc *http.Client, s *compareServer) error {
	tokens := map[string]string{}
	for _, u := range []string{"alice", "bob"} {
		tok, err := compareSignIn(hc, s, u)
		if err != nil {
			return fmt.Errorf("%s signs in: %w", u, err)
		}
		tokens[u] = tok
	}
	s.token = tokens["alice"]
	var bob struct {
		ID string `json:"id"`
	}
	if err := apiCall(hc, s, tokens["alice"], "GET", "/api/v1/accounts/lookup?acct=bob", nil, &bob); err != nil {
		return err
	}
	if err := apiCall(hc, s, tokens["alice"], "POST", "/api/v1/accounts/"+bob.ID+"/follow", url.Values{}, nil); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for u, n := range map[string]int{"bob": 40, "alice": 20} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				text := fmt.Sprintf("Post %d of %s, with a little text as a real post would have, and a #hashtag.", i+1, u)
				if err := apiCall(hc, s, tokens[u], "POST", "/api/v1/statuses", url.Values{"status": {text}, "visibility": {"public"}}, nil); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page []json.RawMessage
		err := apiCall(hc, s, s.token, "GET", "/api/v1/timelines/home?limit=20", nil, &page)
		if err == nil && len(page) == 20 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("alice's home timeline holds %d posts after a minute (%v)", len(page), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// apiCall sends a client API request with token and decodes a 200's JSON
// into out (when not nil).
func apiCall(hc *http.Client, s *compareServer, token, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+s.host+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", compareUA)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, lastLines(string(b), 5))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// compareSignIn registers an app, signs in as user through the server's
// own pages and trades the code for a token.
func compareSignIn(hc *http.Client, s *compareServer, user string) (string, error) {
	const redirect = "urn:ietf:wg:oauth:2.0:oob"
	const scopes = "read write follow"
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := apiCall(hc, s, "", "POST", "/api/v1/apps", url.Values{"client_name": {"bench compare"},
		"redirect_uris": {redirect}, "scopes": {scopes}}, &app); err != nil {
		return "", err
	}
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scopes}}
	code, err := walkSignIn(hc, "http://"+s.host+"/oauth/authorize?"+q.Encode(), user+"@"+s.host, s.password)
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := apiCall(hc, s, "", "POST", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "redirect_uri": {redirect}, "scope": {scopes}}, &tok); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// walkSignIn follows redirects and fills in forms (login and password;
// every other field, the approving button included, as the page set it)
// until a redirect or a page carries the authorization code.
func walkSignIn(hc *http.Client, start, login, password string) (string, error) {
	c := *hc
	c.Jar = &cookieJar{m: map[string]map[string]string{}}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	method, target, form := "GET", start, url.Values(nil)
	for range 8 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, target, body)
		req.Header.Set("User-Agent", compareUA)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // a cut page fails below
		resp.Body.Close()
		base, _ := url.Parse(target)
		if loc := resp.Header.Get("Location"); loc != "" {
			next, err := base.Parse(loc)
			if err != nil {
				return "", err
			}
			if code := next.Query().Get("code"); code != "" {
				return code, nil
			}
			method, target, form = "GET", next.String(), nil
			continue
		}
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("%s %s: %d %s", method, target, resp.StatusCode, lastLines(string(page), 5))
		}
		doc, err := html.Parse(strings.NewReader(string(page)))
		if err != nil {
			return "", err
		}
		if code := codeOnPage(doc); code != "" {
			return code, nil
		}
		action, fields := firstForm(doc)
		if fields == nil {
			return "", fmt.Errorf("%s: no form and no code", target)
		}
		for k := range fields {
			switch k {
			case "email", "username":
				fields.Set(k, login)
			case "password":
				fields.Set(k, password)
			}
		}
		next, err := base.Parse(action)
		if err != nil {
			return "", err
		}
		method, target, form = "POST", next.String(), fields
	}
	return "", fmt.Errorf("no authorization code after 8 pages")
}

// walkHTML calls f on every element until it returns true.
func walkHTML(n *html.Node, f func(*html.Node) bool) bool {
	if n.Type == html.ElementNode && f(n) {
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if walkHTML(c, f) {
			return true
		}
	}
	return false
}

func htmlAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// codeOnPage is the out-of-band code an element with id or class "code"
// shows (as its value or its text).
func codeOnPage(doc *html.Node) string {
	var code string
	walkHTML(doc, func(n *html.Node) bool {
		if htmlAttr(n, "id") != "code" && htmlAttr(n, "class") != "code" {
			return false
		}
		if code = htmlAttr(n, "value"); code == "" && n.FirstChild != nil && n.FirstChild.Type == html.TextNode {
			code = strings.TrimSpace(n.FirstChild.Data)
		}
		return true
	})
	return code
}

// firstForm is the first POST form's action and fields: inputs with their
// values and the first named button.
func firstForm(doc *html.Node) (string, url.Values) {
	var form *html.Node
	walkHTML(doc, func(n *html.Node) bool {
		if n.Data == "form" && strings.EqualFold(htmlAttr(n, "method"), "post") {
			form = n
			return true
		}
		return false
	})
	if form == nil {
		return "", nil
	}
	vals, button := url.Values{}, false
	walkHTML(form, func(n *html.Node) bool {
		name := htmlAttr(n, "name")
		switch {
		case n.Data == "input" && name != "" && htmlAttr(n, "type") != "submit":
			vals.Set(name, htmlAttr(n, "value"))
		case (n.Data == "button" || n.Data == "input") && name != "" && !button:
			vals.Set(name, htmlAttr(n, "value"))
			button = true
		}
		return false
	})
	return htmlAttr(form, "action"), vals
}

// cookieJar keeps cookies per host, Secure ones over plain HTTP too (the
// servers run behind no TLS here).
type cookieJar struct {
	mu sync.Mutex
	m  map[string]map[string]string
}

func (j *cookieJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := u.Hostname()
	if j.m[h] == nil {
		j.m[h] = map[string]string{}
	}
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j.m[h], c.Name)
			continue
		}
		j.m[h][c.Name] = c.Value
	}
}

func (j *cookieJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for k, v := range j.m[u.Hostname()] {
		out = append(out, &http.Cookie{Name: k, Value: v})
	}
	return out
}
