package streaming

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
)

// wsKey passes the checked handshake to the socket handler (a string key:
// the websocket package copies only those).
const wsKey = "roost.streaming.ws"

type wsStart struct {
	v      *viewer
	first  *stream  // the stream named in the URL, if any
	err    error    // why that stream was refused
	ticket *ticket  // the connection's place (gate.go)
	s      *session // subscribed to first before the handshake answers
}

// wsFrame is an event as Mastodon's WebSocket sends it.
type wsFrame struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload,omitempty"` // none for filters_changed
}

// wsError is a refused request on an open socket.
type wsError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// wsRequest is what a client sends: subscribe or unsubscribe to a stream.
type wsRequest struct {
	Type   string  `json:"type"`
	Stream wsParam `json:"stream"`
	Tag    wsParam `json:"tag"`
	List   wsParam `json:"list"`
}

// wsParam reads a request's parameter as Mastodon's streaming server
// does: a string, a number (a list id sent as one) or an array, of which
// the first element counts.
type wsParam string

// UnmarshalJSON accepts a string, a number, or an array of those.
func (p *wsParam) UnmarshalJSON(b []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // a list id keeps its digits
	if err := d.Decode(&v); err != nil {
		return err
	}
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			v = nil
		} else {
			v = a[0]
		}
	}
	switch x := v.(type) {
	case string:
		*p = wsParam(x)
	case json.Number:
		*p = wsParam(x.String())
	case nil:
		*p = ""
	default:
		return errs.E(errs.Invalid, "Unreadable parameter")
	}
	return nil
}

// whyBinary closes a socket that sent a binary message, as Mastodon does
// (1003: unsupported data).
const whyBinary = "binary messages are not supported"

func isUpgrade(c *fiber.Ctx) bool { return websocket.IsWebSocketUpgrade(c) }

func (h *Handler) wsHandler() fiber.Handler {
	return websocket.New(h.serveWS, websocket.Config{HandshakeTimeout: 10 * time.Second,
		ReadBufferSize: 4 << 10, WriteBufferSize: 16 << 10})
}

// upgrade authenticates before the handshake (a bad token gets a plain
// 401) and opens the socket, subscribed to the stream named in the path
// or the stream parameter.
func (h *Handler) upgrade(c *fiber.Ctx, ws fiber.Handler, name string) error {
	v, proto, err := h.authenticate(c)
	if err != nil {
		return err
	}
	start := &wsStart{v: v}
	if name == "" {
		name = c.Query("stream")
	}
	if name != "" {
		start.first, start.err = h.resolve(c.UserContext(), v, name, c.Query("tag"), c.Query("list"))
	}
	s := h.newSession(v)
	if start.ticket, err = h.admit(c, v, s.end); err != nil { // the session ends with the place
		return err
	}
	start.s = s
	// Subscribed before the handshake answers (soak finding 13): an app
	// pages its timeline as soon as the socket opens (after a reconnect,
	// to catch up) and takes the stream for everything after that page.
	// Subscribing once the socket was open left a gap, a Redis round
	// trip or more under load, whose events no one heard. SSE subscribes
	// before its response head too (sse.go).
	if start.first != nil {
		if err := s.add(c.UserContext(), start.first); err != nil {
			start.first, start.err = nil, err
		}
	}
	if proto != "" {
		c.Set("Sec-WebSocket-Protocol", proto) // echoed, as browsers require
	}
	httpx.Log(c).Debug("streaming: websocket", "tenant", v.site.TenantID)
	c.Locals(wsKey, start)
	if err := ws(c); err != nil { // not a valid handshake: no connection
		start.ticket.done()
		return err
	}
	return nil
}

func (h *Handler) serveWS(conn *websocket.Conn) {
	start, _ := conn.Locals(wsKey).(*wsStart)
	if start == nil || !start.ticket.start() {
		return
	}
	defer start.ticket.done()
	// The socket itself: conn is recycled by the websocket package when
	// this function returns, so the reader uses fc and is over by then.
	fc := conn.Conn
	s := start.s
	defer s.end()
	ctx, cancel := context.WithCancel(h.Hub.context())
	defer cancel()
	beat := h.heartbeat()
	replies := make(chan any, 16)
	reply := func(v any) {
		select {
		case replies <- v:
		default: // a client flooding requests loses replies
		}
	}
	refuse := func(err error) {
		reply(wsError{Error: errs.MessageOf(err), Status: httpx.Status(errs.CodeOf(err))})
	}

	fc.SetReadLimit(16 << 10)
	fc.SetReadDeadline(time.Now().Add(3 * beat))
	fc.SetPongHandler(func(string) error { return fc.SetReadDeadline(time.Now().Add(3 * beat)) })
	readerDone := make(chan struct{})
	defer func() {
		cancel()
		fc.SetReadDeadline(time.Now())
		<-readerDone
	}()
	go func() {
		defer close(readerDone)
		defer s.close("client left")
		for {
			kind, data, err := fc.ReadMessage()
			if err != nil {
				return
			}
			if kind == websocket.BinaryMessage {
				s.close(whyBinary)
				return
			}
			fc.SetReadDeadline(time.Now().Add(3 * beat))
			var req wsRequest
			if json.Unmarshal(data, &req) != nil {
				continue // as Mastodon: an unreadable message is ignored
			}
			switch req.Type {
			case "subscribe":
				st, err := h.resolve(ctx, start.v, string(req.Stream), string(req.Tag), string(req.List))
				if err == nil {
					err = s.add(ctx, st)
				}
				if err != nil {
					refuse(err)
				}
			case "unsubscribe":
				st, err := h.resolve(ctx, start.v, string(req.Stream), string(req.Tag), string(req.List))
				if err != nil {
					refuse(err)
					continue
				}
				s.remove(st.key())
			default: // as Mastodon: an unknown type is ignored
			}
		}
	}()
	if start.err != nil {
		refuse(start.err)
	}

	write := func(v any) bool {
		fc.SetWriteDeadline(time.Now().Add(h.writeTimeout()))
		return fc.WriteJSON(v) == nil
	}
	ping := time.NewTicker(beat)
	defer ping.Stop()
	recheck := time.NewTicker(h.recheck())
	defer recheck.Stop()
	for {
		select {
		case <-s.closed:
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if strings.HasPrefix(s.why, "too slow") {
				msg = websocket.FormatCloseMessage(websocket.ClosePolicyViolation, s.why)
			} else if s.why == whyBinary {
				msg = websocket.FormatCloseMessage(websocket.CloseUnsupportedData, s.why)
			} else if s.why == "server shutting down" {
				msg = websocket.FormatCloseMessage(websocket.CloseGoingAway, s.why)
			} else if s.why == WhyRedisDown {
				msg = websocket.FormatCloseMessage(websocket.CloseTryAgainLater, s.why)
			}
			fc.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		case <-ctx.Done():
			s.close("server shutting down")
		case <-ping.C:
			if fc.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.writeTimeout())) != nil {
				return
			}
		case <-recheck.C:
			if !s.stillValid(ctx) {
				s.close("token revoked")
			}
		case r := <-replies:
			if !write(r) {
				return
			}
		case ev := <-s.queue:
			for _, f := range s.frames(ctx, ev) {
				if !write(wsFrame{Stream: f.stream, Event: f.event, Payload: f.payload}) {
					return
				}
			}
		}
	}
}
