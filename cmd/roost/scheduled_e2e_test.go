package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	mastodon "github.com/mattn/go-mastodon"
)

// apiForm posts a form to path with c's server and token.
func apiForm(t *testing.T, c *mastodon.Client, method, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.Config.Server+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+c.Config.AccessToken)
	resp, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fakeTranslator is a LibreTranslate on loopback that upper-cases.
func fakeTranslator(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/languages" {
			_, _ = w.Write([]byte(`[{"code":"en","name":"English","targets":["de"]}]`))
			return
		}
		var req struct {
			Q []string `json:"q"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		out := make([]string, len(req.Q))
		for i, q := range req.Q {
			out[i] = strings.ToUpper(q)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"translatedText": out, "detectedLanguage": map[string]any{"language": "en"}})
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).String()
}

// A post scheduled through the API is published by `roost work` once it
// is due (moved due in the database: no test waits five minutes), once;
// a post is translated through ROOST_TRANSLATE_URL.
func TestIssue17ScheduledPublishedByWorkAndTranslated(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "sched", addr, "translate.test=http://"+fakeTranslator(t))
	n.env = append(n.env, "ROOST_TRANSLATE_URL=http://translate.test")
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write")

	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, body := apiForm(t, alice, "POST", "/api/v1/statuses", url.Values{"status": {"hello later"}, "scheduled_at": {at}})
	var sc struct {
		ID     string `json:"id"`
		Params struct {
			Text string `json:"text"`
		} `json:"params"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &sc) != nil || sc.Params.Text != "hello later" {
		t.Fatalf("schedule: %d %s", status, body)
	}
	if status, body := rawAPI(t, alice, "GET", "/api/v1/scheduled_statuses"); status != 200 || !strings.Contains(body, sc.ID) {
		t.Fatalf("list: %d %s", status, body)
	}
	if got := n.query(t, `update scheduled_statuses set scheduled_at = now() - interval '1 second' where id = $1 returning id`, sc.ID); got != sc.ID {
		t.Fatalf("moved due: %s", got)
	}
	posts := func() string {
		return n.query(t, `select count(*) from statuses where text = 'hello later'`)
	}
	eventuallyTrue(t, "roost work publishes the due post", func() bool { return posts() == "1" })
	if status, body := rawAPI(t, alice, "GET", "/api/v1/scheduled_statuses"); status != 200 || body != "[]" {
		t.Errorf("still scheduled: %d %s", status, body)
	}
	if got := posts(); got != "1" {
		t.Errorf("published %s times", got)
	}

	id := n.query(t, `select id from statuses where text = 'hello later'`)
	status, body = apiForm(t, alice, "POST", "/api/v1/statuses/"+id+"/translate", url.Values{"lang": {"de"}})
	if status != 200 || !strings.Contains(body, "HELLO LATER") || !strings.Contains(body, `"provider":"LibreTranslate"`) {
		t.Errorf("translate: %d %s", status, body)
	}
	if status, body := rawAPI(t, alice, "GET", "/api/v1/instance/translation_languages"); status != 200 || body != `{"en":["de"]}` {
		t.Errorf("languages: %d %s", status, body)
	}
}
