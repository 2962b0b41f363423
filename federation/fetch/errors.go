package fetch

import (
	"context"
	"errors"
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
