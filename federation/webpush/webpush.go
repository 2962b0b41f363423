// Package webpush sends Web Push messages: RFC 8291 aes128gcm encryption
// and RFC 8292 VAPID signatures by github.com/SherClockHolmes/webpush-go,
// the request itself through the one safe outbound client
// (federation/fetch: address checks after DNS, deadline, no redirects).
package webpush

import (
	"context"
	"errors"
	"io"
	"net/http"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
)

// Sender is a federation.PushSender over a fetch.Client.
type Sender struct {
	Fetch *fetch.Client
}

var _ federation.PushSender = (*Sender)(nil)

// maxBody bounds the encrypted request webpush-go builds (one 4 KiB
// record) before it is copied.
const maxBody = 8 << 10

// SendPush encrypts m.Payload for the subscription, signs the request
// with keys and POSTs it. A payload or key the library refuses is
// errs.Invalid (it will never encrypt); the outbound client's errors
// keep their codes.
func (s *Sender) SendPush(ctx context.Context, m federation.PushMessage, keys federation.VAPIDKeys) (int, error) {
	post := &poster{ctx: ctx, fetch: s.Fetch}
	resp, err := webpush.SendNotificationWithContext(ctx, m.Payload,
		&webpush.Subscription{Endpoint: m.Endpoint, Keys: webpush.Keys{P256dh: m.P256DH, Auth: m.Auth}},
		&webpush.Options{
			HTTPClient: post, Subscriber: m.Subject, TTL: int(m.TTL.Seconds()), Urgency: webpush.Urgency(m.Urgency),
			VAPIDPublicKey: keys.Public, VAPIDPrivateKey: keys.Private,
		})
	if post.err != nil {
		return 0, post.err
	}
	if err != nil {
		return 0, errs.Wrap(errs.Invalid, err, "the push could not be encrypted or signed")
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// poster is the library's HTTPClient: it hands the request the library
// built (encrypted body, Content-Encoding, TTL, Urgency, the VAPID
// Authorization) to the safe client, whose Post sets the headers on
// each request it sends through its signer hook.
type poster struct {
	ctx   context.Context
	fetch *fetch.Client
	err   error
}

var errPostFailed = errors.New("push not sent")

func (p *poster) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		p.err = errs.E(errs.Invalid, "the encrypted push is too large")
		return nil, errPostFailed
	}
	headers := req.Header.Clone()
	status, err := p.fetch.Post(p.ctx, req.URL.String(), body, func(r *http.Request, _ []byte) error {
		for k, v := range headers {
			r.Header[k] = v
		}
		r.Header.Del("Accept") // the client's ActivityPub default means nothing to a push service
		return nil
	})
	if err != nil {
		p.err = err
		return nil, errPostFailed
	}
	return &http.Response{StatusCode: status, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}
