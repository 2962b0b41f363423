package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"github.com/roost-social/roost/federation/social/push"
	"github.com/roost-social/roost/internal/pushtest"
)

// Web Push end to end, as a phone app does it: alice's app subscribes
// with its own keys (the server key it is told matches the instance
// document's and the registered app's vapid_key), bob mentions alice on
// real `roost serve`, and real `roost work` delivers a push that the
// push service on loopback decrypts with alice's keys only: Mastodon's
// payload, signed with the instance's VAPID key.
func TestIssue17WebPushArrivesAfterAMention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := pushtest.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addr := freeAddr(t)
	n := startNode(t, "push", addr, "push.test=http://"+r.Listener.Addr().String())
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	for _, u := range []string{"alice", "bob"} {
		n.run(t, "account", "create", "--domain", "a.test", "--username", u, "--email", u+"@a.test", "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	hc := hostClient(addr)

	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write push")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	form := url.Values{"subscription[endpoint]": {"http://push.test/wpush/alice"},
		"subscription[keys][p256dh]": {r.Keys.P256DH()}, "subscription[keys][auth]": {r.Keys.AuthSecret()},
		"data[alerts][mention]": {"true"}, "data[alerts][follow]": {"true"}, "data[policy]": {"all"}}
	var sub struct {
		ServerKey string          `json:"server_key"`
		Alerts    map[string]bool `json:"alerts"`
	}
	pushRequest(t, hc, "POST", "http://a.test/api/v1/push/subscription", alice.Config.AccessToken, form, &sub)
	if len(sub.ServerKey) != 87 || !sub.Alerts["mention"] || sub.Alerts["favourite"] {
		t.Fatalf("subscription %+v", sub)
	}
	r.ServerKey = sub.ServerKey
	var inst struct {
		Configuration struct {
			Vapid struct {
				PublicKey string `json:"public_key"`
			} `json:"vapid"`
		} `json:"configuration"`
	}
	pushRequest(t, hc, "GET", "http://a.test/api/v2/instance", "", nil, &inst)
	var app struct {
		VapidKey string `json:"vapid_key"`
	}
	pushRequest(t, hc, "POST", "http://a.test/api/v1/apps", "", url.Values{"client_name": {"phone"},
		"redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read push"}}, &app)
	if inst.Configuration.Vapid.PublicKey != sub.ServerKey || app.VapidKey != sub.ServerKey {
		t.Fatalf("instance key %q, app key %q, subscription key %q", inst.Configuration.Vapid.PublicKey, app.VapidKey, sub.ServerKey)
	}

	if _, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice the kettle is on", Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.Arrived():
	case <-time.After(60 * time.Second): // a liveness bound: the worker looks every 2 s
		t.Fatal("no push arrived")
	}
	p := r.Pushes()[0]
	if p.Err != nil {
		t.Fatalf("the push did not verify or decrypt: %v", p.Err)
	}
	var got push.Payload
	if err := json.Unmarshal(p.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if got.NotificationType != "mention" || got.AccessToken != alice.Config.AccessToken || got.NotificationID == 0 ||
		got.Title != "bob mentioned you" || !strings.Contains(got.Body, "the kettle is on") || got.PreferredLocale == "" ||
		!strings.HasPrefix(got.Icon, "http://a.test/") || p.Path != "/wpush/alice" {
		t.Fatalf("payload %+v at %s", got, p.Path)
	}
	// The notification the push names is alice's, by that id.
	ns, err := alice.GetNotifications(ctx, nil)
	if err != nil || len(ns) != 1 || string(ns[0].ID) != strconv.FormatInt(got.NotificationID, 10) {
		t.Fatalf("alice's notifications %+v (%v), push names %d", ns, err, got.NotificationID)
	}
	n.eventually(t, "0", `select count(*) from push_deliveries`)
}

// pushRequest sends a request (a form when given) with an optional bearer
// token and decodes a 200 answer into out.
func pushRequest(t *testing.T, hc http.Client, method, target, token string, form url.Values, out any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d\n%s", method, target, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, target, err, b)
	}
}
