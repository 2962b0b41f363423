package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

// userAgent names the test's "app"; GoToSocial answers 418 without one.
const userAgent = "roost-interop-test/1 (a person with an app)"

// person is someone with an account on one server, using it only through
// that server's Mastodon client API with an app's token.
type person struct {
	acct   string // user@host
	user   string
	server string // https://host
	hc     *http.Client
	token  string
	id     string // account id on its own server
}

// uri is the person's actor id (both servers use /users/<name>).
func (p *person) uri() string { return p.server + "/users/" + p.user }

// do sends one API request; form is sent as application/x-www-form-urlencoded.
func (p *person) do(method, path string, form url.Values) (int, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, p.server+path, body)
	if err != nil {
		return 0, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return p.send(req)
}

func (p *person) send(req *http.Request) (int, []byte, error) {
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b, err
}

// call sends a request and decodes a 2xx JSON answer into out (when not
// nil); anything else is an error carrying the status and body.
func (p *person) call(method, path string, form url.Values, out any) error {
	code, b, err := p.do(method, path, form)
	return decodeAnswer(method, p.server+path, code, b, err, out)
}

func decodeAnswer(method, target string, code int, b []byte, err error, out any) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	if code < 200 || code > 299 {
		return fmt.Errorf("%s %s: %d %s", method, target, code, truncate(string(b), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %v in %s", method, target, err, truncate(string(b), 300))
		}
	}
	return nil
}

// upload posts an image as media (POST /api/v2/media) and returns its id.
func (p *person) upload(name string, data []byte, description string) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.WriteField("description", description)
	mw.Close()
	req, _ := http.NewRequest("POST", p.server+"/api/v2/media", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, b, err := p.send(req)
	var m struct {
		ID string `json:"id"`
	}
	if err := decodeAnswer("POST", p.server+"/api/v2/media", code, b, err, &m); err != nil {
		return "", err
	}
	return m.ID, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// signIn registers an app on server and signs in as email/password
// through the server's own pages (sign-in form, consent form, cookies and
// hidden fields as a browser keeps them), then trades the code for a
// token, as a person setting up an app does.
func signIn(t *testing.T, hc *http.Client, host, user, password string) *person {
	t.Helper()
	return signInAt(t, hc, "https://"+host, user, password)
}

// signInAt is signIn on a server at base (scheme://host).
func signInAt(t *testing.T, hc *http.Client, base, user, password string) *person {
	t.Helper()
	host := base[strings.Index(base, "://")+3:]
	p := &person{acct: user + "@" + host, user: user, server: base, hc: hc}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	const redirect = "urn:ietf:wg:oauth:2.0:oob"
	scopes := "read write follow push"
	if err := p.call("POST", "/api/v1/apps", url.Values{"client_name": {"interop test app"},
		"redirect_uris": {redirect}, "scopes": {scopes}, "website": {"https://example.org/app"}}, &app); err != nil {
		t.Fatalf("%s: register app: %v", p.acct, err)
	}
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scopes}}
	code, err := walkAuthorize(hc, p.server+"/oauth/authorize?"+q.Encode(), user+"@"+host, password)
	if err != nil {
		t.Fatalf("%s: sign in: %v", p.acct, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := p.call("POST", "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "redirect_uri": {redirect}, "scope": {scopes}}, &tok); err != nil {
		t.Fatalf("%s: token: %v", p.acct, err)
	}
	p.token = tok.AccessToken
	var me struct {
		ID   string `json:"id"`
		Acct string `json:"acct"`
	}
	if err := p.call("GET", "/api/v1/accounts/verify_credentials", nil, &me); err != nil {
		t.Fatalf("%s: verify_credentials: %v", p.acct, err)
	}
	p.id = me.ID
	return p
}

// walkAuthorize follows redirects and fills in forms (the login field,
// email or username, and the password; every other field as the page set
// it, the approving button included) until a redirect or page carries the
// authorization code.
func walkAuthorize(hc *http.Client, start, email, password string) (string, error) {
	c := *hc
	c.Jar = &hostJar{m: map[string]map[string]*http.Cookie{}}
	method, target, form := "GET", start, url.Values(nil)
	for range 8 {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, target, body)
		req.Header.Set("User-Agent", userAgent)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
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
			return "", fmt.Errorf("%s %s: %d %s", method, target, resp.StatusCode, truncate(string(page), 300))
		}
		if code := textOfID(string(page), "code"); code != "" {
			return code, nil
		}
		action, fields := formOf(string(page))
		if fields == nil {
			return "", fmt.Errorf("%s: no form and no code:\n%s", target, truncate(string(page), 600))
		}
		for k := range fields {
			switch k {
			case "email", "username":
				fields.Set(k, email)
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

// formOf returns the first POST form's action and fields: inputs with
// their values, and the first submit button's name and value.
func formOf(page string) (string, url.Values) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil
	}
	var form *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if form != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "form" && strings.EqualFold(attr(n, "method"), "post") {
			form = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if form == nil {
		return "", nil
	}
	vals := url.Values{}
	button := false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			name := attr(n, "name")
			switch {
			case n.Data == "input" && name != "" && attr(n, "type") != "submit":
				vals.Set(name, attr(n, "value"))
			case (n.Data == "button" || n.Data == "input") && name != "" && !button:
				vals.Set(name, attr(n, "value"))
				button = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	return attr(form, "action"), vals
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// textOfID is the value or text of the element with the given id or class
// (the out-of-band page shows the code in one).
func textOfID(page, id string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return ""
	}
	var out string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if out != "" {
			return
		}
		if n.Type == html.ElementNode && (attr(n, "id") == id || attr(n, "class") == id) {
			if v := attr(n, "value"); v != "" {
				out = v
				return
			}
			var b strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.TextNode {
					b.WriteString(c.Data)
				}
			}
			out = strings.TrimSpace(b.String())
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// hostJar keeps cookies per host, like a browser on one site, but sends
// Secure cookies over plain HTTP too: the Roost node of the bug 3 test
// issues https URLs (so its cookies are Secure) while the test reaches it
// over HTTP, as a TLS proxy would.
type hostJar struct {
	mu sync.Mutex
	m  map[string]map[string]*http.Cookie
}

func (j *hostJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m[u.Hostname()] == nil {
		j.m[u.Hostname()] = map[string]*http.Cookie{}
	}
	for _, c := range cookies {
		if c.MaxAge < 0 {
			delete(j.m[u.Hostname()], c.Name)
			continue
		}
		j.m[u.Hostname()][c.Name] = c
	}
}

func (j *hostJar) Cookies(u *url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.m[u.Hostname()] {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}
