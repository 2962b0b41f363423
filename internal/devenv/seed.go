package devenv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
)

// DemoPosts is how many posts the account acct shows through the client
// API of the node listening on addr (a loopback address) for host.
func DemoPosts(ctx context.Context, addr, host, acct string) (int64, error) {
	s := &seeder{ctx: ctx, base: "http://" + addr, host: host}
	var shown struct {
		StatusesCount int64 `json:"statuses_count"`
	}
	if err := s.send("GET", "/api/v1/accounts/lookup?acct="+acct, "", nil, &shown); err != nil {
		return 0, err
	}
	return shown.StatusesCount, nil
}

// SeedDemo gives the account of token, on the node listening on addr (a
// loopback address) for host, something to show on its first start: an
// avatar and a header (drawn here), a bio with a field, and four posts
// (a welcome, one with hashtags, one with an image and its alt text, one
// with a poll). It goes through the node's client API, as an app would,
// so the posts are made as every post is. The connections are to the
// node's own listener, never outbound.
func SeedDemo(ctx context.Context, addr, host, token string) error {
	return (&seeder{ctx: ctx, base: "http://" + addr, host: host, token: token}).run()
}

// seeder talks to the node's client API as the demo account.
type seeder struct {
	ctx   context.Context
	base  string
	host  string
	token string
}

func (s *seeder) run() error {
	avatar, header := demoImage(128, 128, true), demoImage(900, 300, false)
	if err := s.multipart("PATCH", "/api/v1/accounts/update_credentials", map[string]string{
		"display_name":                "Roost Demo",
		"note":                        "The demo account of this Roost node. Say hello! #roost",
		"fields_attributes[0][name]":  "Runs on",
		"fields_attributes[0][value]": "Roost, a multi-tenant ActivityPub server",
	}, map[string][]byte{"avatar": avatar, "header": header}, nil); err != nil {
		return fmt.Errorf("demo profile: %w", err)
	}
	var media struct{ ID string }
	if err := s.multipart("POST", "/api/v1/media", map[string]string{
		"description": "A square of soft colour bands: the demo account's picture.",
	}, map[string][]byte{"file": avatar}, &media); err != nil {
		return fmt.Errorf("demo image: %w", err)
	}
	for _, p := range []map[string]any{
		{"status": "Hello from Roost! This is the demo account of a fresh node: every post you make here shows up on this page."},
		{"status": "Posts can carry hashtags, like #roost and #fediverse: their pages list this site's public posts with them."},
		{"status": "A picture, with its description for people who cannot see it.", "media_ids": []string{media.ID}},
		{"status": "Which do you read more on?", "poll": map[string]any{"options": []string{"A phone", "A computer", "Both"},
			"expires_in": 7 * 24 * 3600}},
	} {
		if err := s.json("POST", "/api/v1/statuses", p); err != nil {
			return fmt.Errorf("demo post: %w", err)
		}
	}
	return nil
}

func (s *seeder) json(method, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return s.send(method, path, "application/json", bytes.NewReader(b), nil)
}

func (s *seeder) multipart(method, path string, fields map[string]string, files map[string][]byte, out any) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".png")
		if err != nil {
			return err
		}
		if _, err := fw.Write(v); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return err
	}
	return s.send(method, path, mw.FormDataContentType(), &body, out)
}

func (s *seeder) send(method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(s.ctx, method, s.base+path, body)
	if err != nil {
		return err
	}
	req.Host = s.host
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.roundTrip(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %.300s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// roundTrip sends req over a new connection to the node's own loopback
// listener (never an outbound request: those go through federation/fetch)
// and reads the response.
func (s *seeder) roundTrip(req *http.Request) (*http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(s.ctx, "tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	if dl, ok := s.ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl) // a fresh TCP connection: cannot fail
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, conn}
	return resp, nil
}

// demoImage draws a w×h PNG of soft diagonal colour bands (with a round
// mark in the middle for the avatar).
func demoImage(w, h int, mark bool) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			t := float64(x+y) / float64(w+h)
			c := color.RGBA{uint8(56 + 150*t), uint8(83 + 80*(1-t)), uint8(180 - 60*t), 255}
			if mark {
				dx, dy := x-w/2, y-h/2
				if dx*dx+dy*dy < (w/4)*(w/4) {
					c = color.RGBA{250, 248, 240, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // into memory: cannot fail
	return b.Bytes()
}
