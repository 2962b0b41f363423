package interop

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
)

// The parts of Mastodon's entities the steps read.
type account struct {
	ID          string `json:"id"`
	Acct        string `json:"acct"`
	DisplayName string `json:"display_name"`
	Note        string `json:"note"`
	Locked      bool   `json:"locked"`
	Moved       *struct {
		Acct string `json:"acct"`
	} `json:"moved"`
}

type status struct {
	ID          string  `json:"id"`
	URI         string  `json:"uri"`
	Content     string  `json:"content"`
	Visibility  string  `json:"visibility"`
	InReplyToID *string `json:"in_reply_to_id"`
	Account     account `json:"account"`
	Reblog      *status `json:"reblog"`
	Media       []media `json:"media_attachments"`
	Mentions    []struct {
		Acct string `json:"acct"`
	} `json:"mentions"`
}

type media struct {
	Type      string `json:"type"`
	URL       string `json:"url"`
	RemoteURL string `json:"remote_url"`
}

type notification struct {
	Type    string  `json:"type"`
	Account account `json:"account"`
	Status  *status `json:"status"`
}

type relationship struct {
	ID         string `json:"id"`
	Following  bool   `json:"following"`
	Requested  bool   `json:"requested"`
	FollowedBy bool   `json:"followed_by"`
	Blocking   bool   `json:"blocking"`
	BlockedBy  bool   `json:"blocked_by"`
}

// lookup finds acct (user@host) on p's server, fetching it from its own
// server when unknown (search with resolve=true), and returns its id there.
func (p *person) lookup(acct string) (string, error) {
	var found []account
	// GoToSocial resolves only a leading-@ handle; Mastodon takes both.
	q := url.Values{"q": {"@" + acct}, "resolve": {"true"}, "limit": {"5"}}
	if err := p.call("GET", "/api/v1/accounts/search?"+q.Encode(), nil, &found); err != nil {
		return "", err
	}
	local := strings.TrimSuffix(acct, "@"+strings.TrimPrefix(p.server, "https://"))
	for _, a := range found {
		// Accounts of p's own server go by their bare username.
		if strings.EqualFold(a.Acct, acct) || strings.EqualFold(a.Acct, local) {
			return a.ID, nil
		}
	}
	return "", fmt.Errorf("%s's search for %s found %d accounts, none of them it", p.acct, acct, len(found))
}

// relationship is p's relationship to the account id.
func (p *person) relationship(id string) (relationship, error) {
	var rs []relationship
	if err := p.call("GET", "/api/v1/accounts/relationships?id[]="+url.QueryEscape(id), nil, &rs); err != nil {
		return relationship{}, err
	}
	if len(rs) != 1 {
		return relationship{}, fmt.Errorf("%d relationships", len(rs))
	}
	return rs[0], nil
}

// post publishes a status; extra holds more parameters (visibility,
// in_reply_to_id, media_ids[]).
func (p *person) post(text string, extra url.Values) (*status, error) {
	form := url.Values{"status": {text}}
	for k, v := range extra {
		form[k] = v
	}
	var s status
	if err := p.call("POST", "/api/v1/statuses", form, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// homeStatus finds the status with uri on p's home timeline.
func (p *person) homeStatus(uri string) (*status, error) {
	var tl []status
	if err := p.call("GET", "/api/v1/timelines/home?limit=40", nil, &tl); err != nil {
		return nil, err
	}
	for i := range tl {
		if tl[i].URI == uri {
			return &tl[i], nil
		}
	}
	return nil, fmt.Errorf("not on %s's home timeline (%d statuses there)", p.acct, len(tl))
}

// homeReblogOf finds, on p's home timeline, a boost of the status with uri
// and returns the boosted status.
func (p *person) homeReblogOf(uri string) (*status, error) {
	var tl []status
	if err := p.call("GET", "/api/v1/timelines/home?limit=40", nil, &tl); err != nil {
		return nil, err
	}
	for _, s := range tl {
		if s.Reblog != nil && s.Reblog.URI == uri {
			return s.Reblog, nil
		}
	}
	return nil, fmt.Errorf("no boost of it on %s's home timeline (%d statuses there)", p.acct, len(tl))
}

// notification finds p's notification of type typ whose status has uri
// (or, with uri "", whose account is from).
func (p *person) notification(typ, uri, from string) (*notification, error) {
	var ns []notification
	if err := p.call("GET", "/api/v1/notifications?limit=40", nil, &ns); err != nil {
		return nil, err
	}
	var seen []string
	for i, n := range ns {
		seen = append(seen, n.Type+" from "+n.Account.Acct)
		if n.Type != typ || !strings.EqualFold(n.Account.Acct, from) {
			continue
		}
		if uri == "" || (n.Status != nil && n.Status.URI == uri) {
			return &ns[i], nil
		}
	}
	return nil, fmt.Errorf("%s has no %s notification from %s about %q (has: %s)", p.acct, typ, from, uri, strings.Join(seen, ", "))
}

// status reads a status by its id on p's server.
func (p *person) status(id string) (*status, int, error) {
	code, b, err := p.do("GET", "/api/v1/statuses/"+id, nil)
	var s status
	return &s, code, decodeAnswer("GET", p.server+"/api/v1/statuses/"+id, code, b, err, &s)
}

// fetchMedia downloads a media URL as any client would and reports its
// type.
func (p *person) fetchMedia(raw string) (string, error) {
	req, err := http.NewRequest("GET", raw, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d", raw, resp.StatusCode)
	}
	return resp.Header.Get("Content-Type"), nil
}

// testPNG is a small picture: a gradient, so it is not trivially empty.
func testPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 128, 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func describe(r relationship, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%+v", r)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func itoa(n int) string { return fmt.Sprint(n) }

func accts(as []account) string {
	var out []string
	for _, a := range as {
		out = append(out, a.Acct)
	}
	return "[" + strings.Join(out, " ") + "]"
}
