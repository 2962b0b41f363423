package webapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
	"github.com/valyala/fasthttp"
)

// The web app calls the tenant's client API in process, as the viewer's
// token: the request goes through the same app (host routing, the
// client API's authentication, scopes, limits and use cases) as an app's
// would, on the same host and from the same client address, without a
// network hop. Nothing here decides what the viewer may do.

// maxAPIResponse bounds what one in-process call may answer.
const maxAPIResponse = 8 << 20

// apiError is a client API refusal as the web app reports it: the status
// and the API's own message.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// Unwrap gives the errs view, so page.Failure shows the status and message.
func (e *apiError) Unwrap() error {
	code := errs.Internal
	switch {
	case e.Status == fiber.StatusNotFound:
		code = errs.NotFound
	case e.Status == fiber.StatusUnauthorized:
		code = errs.Unauthorized
	case e.Status == fiber.StatusForbidden:
		code = errs.Forbidden
	case e.Status == fiber.StatusTooManyRequests:
		code = errs.TooMany
	case e.Status == fiber.StatusServiceUnavailable:
		code = errs.Unavailable
	case e.Status == fiber.StatusConflict:
		code = errs.Conflict
	case e.Status == fiber.StatusGone:
		code = errs.Gone
	case e.Status == fiber.StatusRequestEntityTooLarge:
		code = errs.TooLarge
	case e.Status >= 400 && e.Status < 500:
		code = errs.Invalid
	}
	if code == errs.Internal {
		return errs.E(code, "the client API answered %d", e.Status)
	}
	return errs.E(code, "%s", e.Message)
}

// isAuthError reports whether err says a token is no good.
func isAuthError(err error) bool {
	c := errs.CodeOf(err)
	return c == errs.Unauthorized || c == errs.NotFound
}

// get calls the client API's GET path with query as the viewer and decodes
// the JSON answer into out (nil: ignored).
func (h *Handler) get(c *fiber.Ctx, path string, query url.Values, out any) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	_, err := h.call(c, fiber.MethodGet, path, "", nil, out)
	return err
}

// send calls the client API's method path with form as the body.
func (h *Handler) send(c *fiber.Ctx, method, path string, form url.Values, out any) error {
	_, err := h.call(c, method, path, fiber.MIMEApplicationForm, []byte(form.Encode()), out)
	return err
}

// sendJSON calls the client API's method path with a JSON body and
// headers.
func (h *Handler) sendJSON(c *fiber.Ctx, method, path string, body any, out any, headers ...string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = h.call(c, method, path, fiber.MIMEApplicationJSON, b, out, headers...)
	return err
}

// upload posts a multipart form with one file to the client API.
func (h *Handler) upload(c *fiber.Ctx, path string, fields url.Values, field string, fh *multipart.FileHeader, out any) error {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				return err
			}
		}
	}
	f, err := fh.Open()
	if err != nil {
		return errs.E(errs.Invalid, "the file could not be read")
	}
	defer f.Close()
	part, err := w.CreateFormFile(field, fh.Filename)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, f); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_, err = h.call(c, fiber.MethodPost, path, w.FormDataContentType(), b.Bytes(), out)
	return err
}

// call sends one request to the client API as the viewer, with headers
// (name, value pairs), and returns its Link header; a non-2xx answer is
// an *apiError.
func (h *Handler) call(c *fiber.Ctx, method, path, contentType string, body []byte, out any, headers ...string) (string, error) {
	v := viewer(c)
	if v == nil {
		return "", errs.E(errs.Unauthorized, "not signed in")
	}
	h.apiOnce.Do(func() { h.api = c.App().Handler() })
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost(c.Hostname())
	req.Header.Set(fiber.HeaderAuthorization, "Bearer "+v.access)
	req.Header.Set(fiber.HeaderAccept, fiber.MIMEApplicationJSON)
	if id := c.GetRespHeader(fiber.HeaderXRequestID); id != "" {
		req.Header.Set(fiber.HeaderXRequestID, id)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != nil {
		req.Header.SetContentType(contentType)
		req.SetBody(body)
	}
	var rc fasthttp.RequestCtx
	rc.Init(&req, &net.TCPAddr{IP: net.IP(httpx.ClientIP(c).AsSlice())}, nil)
	h.api(&rc)
	resp := &rc.Response
	status, data := resp.StatusCode(), resp.Body()
	if len(data) > maxAPIResponse {
		return "", errs.E(errs.Internal, "the client API answered too much")
	}
	if status < 200 || status > 299 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e) // a body without a message keeps the status's
		if e.Error == "" {
			e.Error = "The request failed (" + strconv.Itoa(status) + ")."
		}
		return "", &apiError{Status: status, Message: e.Error}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return "", errors.Join(errs.E(errs.Internal, "the client API answered malformed JSON"), err)
		}
	}
	return string(resp.Header.Peek(fiber.HeaderLink)), nil
}
