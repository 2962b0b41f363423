package fetch

import (
	"context"
	"errors"
	"github.com/roost-social/roost/internal/text"
	"net"
	"net/http"

	"github.com/roost-social/roost/internal/errs"
)

// transportError classifies a failure to get a response (or to read its
// body) from host. Messages name only the host the caller asked for: never
// the address it resolved to, which would tell a client about our network.
func transportError(ctx context.Context, host string, err error) error {
	var refused *refusedError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return errs.Wrap(errs.Forbidden, err, "the address of "+host+" is not allowed")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return errs.Wrap(errs.Unavailable, err, host+" timed out")
	case ctx.Err() != nil:
		return errs.Wrap(errs.Unavailable, err, "request to "+host+" was cancelled")
	}
	return errs.Wrap(errs.Unavailable, err, "could not reach "+host)
}

// statusError classifies a non-2xx answer to a GET.
func statusError(host string, status int) error {
	switch status {
	case http.StatusNotFound:
		return errs.E(errs.NotFound, "%s has no such document", host)
	case http.StatusGone:
		return errs.E(errs.Gone, "%s says the document is gone", host)
	}
	return errs.E(errs.Unavailable, "%s answered status %d", host, status)
}

// Permanent reports whether a failed request cannot succeed however often
// it is retried: the address guard refused the host's address, or plain
// http to it (errs.Forbidden), or the URL itself is unusable (errs.Invalid:
// malformed, no host, credentials). Callers fail such work at once rather
// than retrying it for days (issue 14, finding 6); unreachable hosts and
// timeouts (errs.Unavailable) are worth retrying.
func Permanent(err error) bool {
	c := errs.CodeOf(err)
	return err != nil && (c == errs.Forbidden || c == errs.Invalid)
}

// Reason is what may be stored or shown about a failed outbound request
// (delivery rows, host health, NodeInfo and block-list fetches, domain
// checks): the error's client-safe message, which names at most the host
// that was asked for. The cause — the address it resolved to, the
// dialer's or resolver's text — is for logs only. Errors without a safe
// message read "internal error".
func Reason(err error) string {
	if err == nil {
		return ""
	}
	return text.Clip(errs.MessageOf(err), 300)
}
