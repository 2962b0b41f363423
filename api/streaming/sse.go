package streaming

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// sse serves one stream as server-sent events. Tokens and the stream are
// checked first, so refusals are ordinary JSON errors; then the
// connection is taken over from the HTTP server (whose write timeout
// would end a long response) and written to directly.
func (h *Handler) sse(c *fiber.Ctx, name string) error {
	v, _, err := h.authenticate(c)
	if err != nil {
		return err
	}
	if name == "" {
		return errUnknown
	}
	st, err := h.resolve(c.UserContext(), v, name, c.Query("tag"), c.Query("list"))
	if err != nil {
		return err
	}
	t, err := h.admit(c, v, nil)
	if err != nil {
		return err
	}
	// The response head, with what the middleware set (CORS, request id);
	// the app's header policy (httpx.SecureHeaders) is applied after the
	// handler returns, too late for a hijacked response: nosniff is here.
	var head strings.Builder
	head.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\n" +
		"Transfer-Encoding: chunked\r\n")
	c.Response().Header.VisitAll(func(k, val []byte) {
		key := string(k)
		if strings.HasPrefix(strings.ToLower(key), "access-control-") || strings.EqualFold(key, fiber.HeaderXRequestID) ||
			strings.EqualFold(key, fiber.HeaderVary) {
			head.WriteString(key + ": " + string(val) + "\r\n")
		}
	})
	head.WriteString("\r\n")
	h.log().Debug("streaming: server-sent events", "stream", st.key(), "tenant", v.site.TenantID)
	c.Context().HijackSetNoResponse(true)
	c.Context().Hijack(func(nc net.Conn) {
		if !t.start() {
			return
		}
		defer t.done()
		h.serveSSE(nc, v, st, head.String())
	})
	return nil
}

func (h *Handler) serveSSE(nc net.Conn, v *viewer, st *stream, head string) {
	s := h.newSession(v)
	defer s.end()
	ctx := h.Hub.context()
	// The client sends nothing more; a read ending means it left. The
	// reader is over before the server reclaims the connection.
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 512)
		for {
			if _, err := nc.Read(buf); err != nil {
				s.close("client left")
				return
			}
		}
	}()
	defer func() {
		nc.SetReadDeadline(time.Now())
		<-readerDone
	}()
	if err := s.add(ctx, st); err != nil {
		return
	}
	w := bufio.NewWriterSize(nc, 8<<10)
	write := func(parts ...string) bool {
		nc.SetWriteDeadline(time.Now().Add(h.writeTimeout()))
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		if head != "" {
			w.WriteString(head)
			head = ""
		}
		fmt.Fprintf(w, "%x\r\n", n) // one chunk per message
		for _, p := range parts {
			w.WriteString(p)
		}
		w.WriteString("\r\n")
		return w.Flush() == nil
	}
	if !write(":)\n") { // as Mastodon: a comment, no blank line (a strict reader dispatches one)
		return
	}
	beat := time.NewTicker(h.heartbeat())
	defer beat.Stop()
	recheck := time.NewTicker(h.recheck())
	defer recheck.Stop()
	for {
		select {
		case <-s.closed:
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			w.WriteString("0\r\n\r\n")
			_ = w.Flush() // the last chunk; the stream ends either way
			return
		case <-ctx.Done():
			s.close("server shutting down")
		case <-beat.C:
			if !write(":thump\n") {
				return
			}
		case <-recheck.C:
			if !s.stillValid(ctx) {
				s.close("token revoked")
			}
		case ev := <-s.queue:
			for _, f := range s.frames(ctx, ev) {
				if !write("event: ", f.event, "\ndata: ", f.payload, "\n\n") {
					return
				}
			}
		}
	}
}
