// Package errs carries error codes from the domain packages to the one place
// (api) that maps them to HTTP statuses. An *Error's Message is safe to show
// a client; anything else is logged and answered as a bare 500.
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error for clients.
type Code string

// The codes, each with one HTTP status in api.
const (
	Invalid      Code = "invalid"      // 400 / 422: the input is wrong
	NotFound     Code = "not_found"    // 404
	Conflict     Code = "conflict"     // 409: already exists
	Unauthorized Code = "unauthorized" // 401
	Forbidden    Code = "forbidden"    // 403
	Gone         Code = "gone"         // 410
	TooLarge     Code = "too_large"    // 413
	TooMany      Code = "too_many"     // 429: slow down (with Retry-After)
	Unavailable  Code = "unavailable"  // 503
	Internal     Code = "internal"     // 500
)

// Error is an error with a code and a message fit for clients.
type Error struct {
	Code    Code
	Message string
	Err     error // the cause, for logs only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error whose cause is err.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the client-safe message of err.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
