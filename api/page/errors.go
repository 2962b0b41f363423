package page

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
)

// Every area's error pages are its template "error" (templates/error.html,
// shared): the Title, the Message, the request id and, when Home is set,
// a way back.

// Failure is what an error page says about err: its status and a message
// fit to show. An error with a code shows its own message and the code's
// status (httpx.Status, the app's one mapping); a deadline or a
// cancellation is a 503 "busy"; anything else is a 500 that says nothing
// of the cause. Every 5xx is logged to log as what, with err.
func Failure(c *fiber.Ctx, log *slog.Logger, what string, err error) (status int, message string) {
	status, message = fiber.StatusInternalServerError, "Something went wrong. Try again later."
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		status, message = fiber.StatusServiceUnavailable, "The server is busy. Try again."
	case httpx.Unavailable(err): // PostgreSQL or Redis cannot be reached
		status, message = fiber.StatusServiceUnavailable, "The server is temporarily unavailable. Try again in a moment."
	case errs.CodeOf(err) != errs.Internal:
		status, message = httpx.Status(errs.CodeOf(err)), errs.MessageOf(err)
	}
	if status >= 500 {
		log.ErrorContext(c.UserContext(), what, "err", err)
	}
	return status, message
}
