// Package relme verifies local accounts' profile links the way Mastodon
// does: a field whose value is a web page that links back to the
// account's profile with rel="me" (an <a> or a <link>) is marked
// verified. Pages are fetched through the safe client (federation/fetch),
// in the background, never while a request waits.
package relme

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"golang.org/x/net/html"
)

// Verifier checks profile links.
type Verifier struct {
	Fetch *fetch.Client
	Store federation.FieldStore
	Log   *slog.Logger
	// MaxConcurrent bounds the verifications running at once (default 4):
	// profile edits cannot turn the node into a crawler.
	MaxConcurrent int
	// Timeout bounds one background verification (default one minute).
	Timeout time.Duration
	Now     func() time.Time

	once sync.Once
	sem  chan struct{}
	wg   sync.WaitGroup
}

func (v *Verifier) init() {
	v.once.Do(func() {
		n := v.MaxConcurrent
		if n <= 0 {
			n = 4
		}
		v.sem = make(chan struct{}, n)
	})
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) log() *slog.Logger {
	if v.Log != nil {
		return v.Log
	}
	return slog.Default()
}

// Start verifies the account's fields in the background. linkBacks are
// the account's own URLs a page may link to (its profile and actor).
func (v *Verifier) Start(accountID int64, linkBacks []string) {
	v.init()
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		timeout := v.Timeout
		if timeout <= 0 {
			timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		select {
		case v.sem <- struct{}{}:
			defer func() { <-v.sem }()
		case <-ctx.Done():
			v.log().Warn("rel=me verification skipped: too many running", "account", accountID)
			return
		}
		if err := v.Verify(ctx, accountID, linkBacks); err != nil {
			v.log().Warn("rel=me verification failed", "account", accountID, "err", err)
		}
	}()
}

// Wait waits for the background verifications started so far (tests,
// shutdown).
func (v *Verifier) Wait() { v.wg.Wait() }

// Verify checks each unverified http(s) field of the account now.
func (v *Verifier) Verify(ctx context.Context, accountID int64, linkBacks []string) error {
	fields, err := v.Store.LocalFields(ctx, accountID)
	if err != nil {
		return err
	}
	for _, f := range fields {
		if f.VerifiedAt != nil || !Verifiable(f.Value) {
			continue
		}
		page, _, err := v.Fetch.GetHTML(ctx, f.Value)
		if err != nil {
			v.log().Debug("rel=me page not fetched", "account", accountID, "url", f.Value, "err", err)
			continue
		}
		if !LinksBack(page, linkBacks) {
			continue
		}
		if _, err := v.Store.MarkFieldVerified(ctx, accountID, f.Value, v.now().UTC()); err != nil {
			return err
		}
	}
	return nil
}

// Verifiable reports whether a field value is a link that could be
// verified: one http(s) URL with a host.
func Verifiable(value string) bool {
	if !strings.HasPrefix(value, "https://") && !strings.HasPrefix(value, "http://") {
		return false
	}
	if strings.ContainsAny(value, " \t\r\n\"<>") {
		return false
	}
	u, err := url.Parse(value)
	return err == nil && u.Host != "" && u.User == nil
}

// LinksBack reports whether page has an <a> or <link> with rel="me"
// whose href is one of linkBacks.
func LinksBack(page []byte, linkBacks []string) bool {
	want := map[string]bool{}
	for _, l := range linkBacks {
		if n := normalize(l); n != "" {
			want[n] = true
		}
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if !hasAttr || (string(name) != "a" && string(name) != "link") {
				continue
			}
			var rel, href string
			for {
				k, val, more := z.TagAttr()
				switch string(k) {
				case "rel":
					rel = string(val)
				case "href":
					href = string(val)
				}
				if !more {
					break
				}
			}
			if hasRelMe(rel) && want[normalize(href)] {
				return true
			}
		}
	}
}

func hasRelMe(rel string) bool {
	for _, r := range strings.Fields(rel) {
		if strings.EqualFold(r, "me") {
			return true
		}
	}
	return false
}

// normalize makes URLs comparable: scheme and host lower case, no
// fragment, no trailing slash.
func normalize(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u.Scheme, u.Host, u.Fragment, u.RawFragment = strings.ToLower(u.Scheme), strings.ToLower(u.Host), "", ""
	return strings.TrimSuffix(u.String(), "/")
}
