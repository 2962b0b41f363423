package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// popupApp is a web app on another origin that signs in as Phanpy does:
// it opens the tenant's sign-in page in a pop-up, watches that the pop-up
// is still open, and takes the code its callback page hands back through
// window.opener. A pop-up it sees closed before the code arrives is a
// failed sign-in, as Phanpy shows it ("Failed to log in").
const popupApp = `<!doctype html><html><body>
<button id="signin">Sign in</button><p id="status">idle</p>
<script>
document.getElementById('signin').onclick = function () {
  var got = false, status = document.getElementById('status');
  var w = window.open(%q, 'signin', 'width=500,height=700');
  window.addEventListener('message', function (e) {
    if (e.origin !== location.origin) return;
    got = true; status.textContent = 'code:' + e.data;
  });
  var watch = setInterval(function () {
    if (got) { clearInterval(watch); return; }
    if (!w || w.closed) { clearInterval(watch); status.textContent = 'Failed to log in'; }
  }, 50);
  status.textContent = 'waiting';
};
</script></body></html>`

// popupCallback is the app's redirect page: it gives the code to the
// window that opened the pop-up, then closes.
const popupCallback = `<!doctype html><html><body><script>
var code = new URLSearchParams(location.search).get('code');
if (window.opener) { window.opener.postMessage(code, location.origin); window.close(); }
else { document.body.textContent = 'no opener: ' + code; }
</script></body></html>`

// TestIssue17Finding4SignInThroughPopup: a web app on another origin opens
// the OAuth sign-in page in a pop-up; the person signs in and authorizes
// there; the pop-up hands the code back to the app through window.opener
// and closes. Roost's sign-in page sent Cross-Origin-Opener-Policy:
// same-origin, which severed the pop-up from its opener: the app saw it
// closed at once and said "Failed to log in", and the code never came
// back.
func TestIssue17Finding4SignInThroughPopup(t *testing.T) {
	t.Parallel()
	_, addr := apiNode(t)

	app := http.NewServeMux()
	appSrv := httptest.NewServer(app) // 127.0.0.1:<port>: an origin of its own
	defer appSrv.Close()
	redirect := appSrv.URL + "/callback"
	hc := hostClient(addr)
	resp, err := hc.PostForm("http://a.test/api/v1/apps", url.Values{
		"client_name": {"pop-up app"}, "redirect_uris": {redirect}, "scopes": {"read write"}})
	if err != nil {
		t.Fatal(err)
	}
	var reg struct{ ClientID, ClientSecret string }
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reg.ClientID, _ = raw["client_id"].(string)
	reg.ClientSecret, _ = raw["client_secret"].(string)
	if reg.ClientID == "" {
		t.Fatalf("register app: %v", raw)
	}
	authURL := "http://a.test/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {reg.ClientID},
		"redirect_uri": {redirect}, "scope": {"read write"}}.Encode()
	app.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, popupApp, authURL)
	})
	app.HandleFunc("/callback", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, popupCallback)
	})

	ctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(ctx); time.Sleep(time.Second) })
	shot := newShots(t, ctx)
	browse(t, ctx, "open the app", chromedp.Navigate(appSrv.URL+"/"), chromedp.WaitVisible("#signin", chromedp.ByQuery))
	opened := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return strings.Contains(i.URL, "/oauth/authorize") })
	browse(t, ctx, "click sign in", chromedp.Click("#signin", chromedp.ByQuery))
	var popupID target.ID
	select {
	case popupID = <-opened:
	case <-ctx.Done():
		t.Fatal("no pop-up opened")
	}
	popup, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(popupID))
	defer cancel()
	browse(t, popup, "sign in in the pop-up",
		chromedp.WaitVisible("#email", chromedp.ByQuery),
		chromedp.SetValue("#email", "alice@a.test", chromedp.ByQuery),
		chromedp.SetValue("#password", testPassword, chromedp.ByQuery))
	newShots(t, popup).take("oauth-popup-sign-in")
	var during string
	browse(t, ctx, "the app still sees its pop-up", chromedp.Text("#status", &during, chromedp.ByQuery))
	if during != "waiting" {
		t.Fatalf("while the person types, the app says %q (the pop-up was severed from its opener)", during)
	}
	browse(t, popup, "authorize", chromedp.Click(`button[value="approve"]`, chromedp.ByQuery))
	got := waitText(t, ctx, "#status", "code:")
	shot.take("oauth-popup-app-signed-in")
	code := strings.TrimPrefix(got, "code:")
	resp, err = hc.PostForm("http://a.test/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {reg.ClientID}, "client_secret": {reg.ClientSecret}, "redirect_uri": {redirect}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the code the pop-up handed back does not redeem: %d", resp.StatusCode)
	}
}
