package httpx

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// The default avatar and header: Mastodon's API never leaves an account
// without image URLs, so accounts without their own point here.
var (
	defaultOnce                  sync.Once
	defaultAvatar, defaultHeader []byte
)

func solidPNG(w, h int, c color.Color) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{c})
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// RegisterDefaultImages serves /avatars/original/missing.png and
// /headers/original/missing.png.
func RegisterDefaultImages(r fiber.Router) {
	defaultOnce.Do(func() {
		defaultAvatar = solidPNG(120, 120, color.RGBA{0x9b, 0xa3, 0xaf, 0xff})
		defaultHeader = solidPNG(300, 100, color.RGBA{0x60, 0x6a, 0x78, 0xff})
	})
	serve := func(b []byte) fiber.Handler {
		return func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, "image/png")
			c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
			c.Set("X-Content-Type-Options", "nosniff")
			return c.Send(b)
		}
	}
	r.Get("/avatars/original/missing.png", serve(defaultAvatar))
	r.Get("/headers/original/missing.png", serve(defaultHeader))
}
