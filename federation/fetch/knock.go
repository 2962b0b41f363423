package fetch

import (
	"context"
	"net/http"
	"net/url"

	"github.com/roost-social/roost/federation/signature"
)

// SchemeSigner signs an outgoing request in the given signature scheme;
// body is nil for GET.
type SchemeSigner func(s signature.Scheme, r *http.Request, body []byte) error

// Knocking makes a Signer that "double-knocks", as Mastodon 4.5 does: each
// request is signed in the scheme its host last accepted (draft-cavage for
// a host never heard from, since every fediverse server accepts it), and
// a request answered 401 or 403 is sent once more, signed in the other
// scheme. Whichever scheme was accepted is remembered for the host by the
// Client (in memory, bounded). Outside a Client's send it signs cavage.
func Knocking(sign SchemeSigner) Signer {
	return func(r *http.Request, body []byte) error {
		kn, _ := r.Context().Value(knockKey{}).(*knock)
		if kn == nil {
			return sign(signature.Cavage, r, body)
		}
		s := kn.schemes.First(kn.host)
		if kn.retry {
			s = kn.used.Other()
		}
		if err := sign(s, r, body); err != nil {
			return err
		}
		kn.active, kn.used = true, s
		return nil
	}
}

// knock is one request's double-knocking state, shared between send and
// a Knocking signer through the request context.
type knock struct {
	schemes *signature.Schemes
	host    string
	retry   bool             // the second attempt: sign in the other scheme
	active  bool             // a Knocking signer signed the request
	used    signature.Scheme // the scheme it signed in
}

type knockKey struct{}

// SignatureScheme is the scheme the Client would sign a first request to
// host in (cavage unless host has accepted only RFC 9421), for tests and
// diagnostics.
func (c *Client) SignatureScheme(host string) signature.Scheme { return c.knocks.First(host) }

// send makes one request to u without following redirects (body is nil
// for GET), double-knocking when sign is a Knocking signer: at most two
// requests, the second only when the first was signed and refused.
func (c *Client) send(ctx context.Context, method string, u *url.URL, accept string, body []byte, sign Signer) (*http.Response, error) {
	kn := &knock{schemes: &c.knocks, host: u.Host}
	ctx = context.WithValue(ctx, knockKey{}, kn)
	resp, err := c.sendOnce(ctx, method, u, accept, body, sign)
	if err != nil || !kn.active {
		return resp, err
	}
	if !signature.Refused(resp.StatusCode) {
		c.knocks.Accepted(kn.host, kn.used)
		return resp, nil
	}
	discard(resp)
	kn.retry, kn.active = true, false
	resp, err = c.sendOnce(ctx, method, u, accept, body, sign)
	if err == nil && kn.active && !signature.Refused(resp.StatusCode) {
		c.knocks.Accepted(kn.host, kn.used)
	}
	return resp, err
}
