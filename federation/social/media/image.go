package media

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"github.com/buckket/go-blurhash"
	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// processed is a re-encoded image with its thumbnail.
type processed struct {
	data, thumb   []byte
	out           format // PNG or JPEG
	width, height int
	thumbW        int
	thumbH        int
	blurhash      string
}

const jpegQuality = 90

// checkHeader reads only an image's header and refuses it when decoding
// it would take too much memory: nothing of the picture is decoded yet.
func checkHeader(data []byte, f format) error {
	cfg, err := decodeConfig(data, f)
	if err != nil {
		return errs.E(errs.Invalid, "the file is not a valid %s image", f.ext)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return errs.E(errs.Invalid, "the image has no pixels")
	}
	if cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return errs.E(errs.Invalid, "the image is too large (%d×%d); at most %d pixels and %d on a side",
			cfg.Width, cfg.Height, MaxPixels, MaxSide)
	}
	return nil
}

func decodeConfig(data []byte, f format) (image.Config, error) {
	r := bytes.NewReader(data)
	switch f {
	case fmtJPEG:
		return jpeg.DecodeConfig(r)
	case fmtPNG:
		return png.DecodeConfig(r)
	case fmtGIF:
		return gif.DecodeConfig(r)
	case fmtWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, errs.E(errs.Invalid, "not an image")
}

func decode(data []byte, f format) (image.Image, error) {
	r := bytes.NewReader(data)
	switch f {
	case fmtJPEG:
		return jpeg.Decode(r)
	case fmtPNG:
		return png.Decode(r)
	case fmtGIF:
		return gif.Decode(r) // the first frame
	case fmtWebP:
		return webp.Decode(r)
	}
	return nil, errs.E(errs.Invalid, "not an image")
}

// processImage checks the header, decodes, turns the picture upright (EXIF
// orientation), re-encodes it — only pixels survive: no EXIF, no comments,
// nothing appended — and makes a thumbnail and a BlurHash.
func processImage(data []byte, f format) (*processed, error) {
	if err := checkHeader(data, f); err != nil {
		return nil, err
	}
	img, err := decode(data, f)
	if err != nil {
		return nil, errs.E(errs.Invalid, "the file is not a valid %s image", f.ext)
	}
	if f == fmtJPEG {
		img = orient(img, jpegOrientation(data))
	}
	out := fmtPNG
	if f == fmtJPEG || (f == fmtWebP && opaque(img)) {
		out = fmtJPEG
	}
	p := &processed{out: out, width: img.Bounds().Dx(), height: img.Bounds().Dy()}
	if p.data, err = encode(img, out); err != nil {
		return nil, err
	}
	thumb := thumbnail(img, ThumbSide)
	p.thumbW, p.thumbH = thumb.Bounds().Dx(), thumb.Bounds().Dy()
	if p.thumb, err = encode(thumb, out); err != nil {
		return nil, err
	}
	p.blurhash, _ = blurhash.Encode(4, 3, thumbnail(thumb, 32))
	return p, nil
}

func opaque(img image.Image) bool {
	o, ok := img.(interface{ Opaque() bool })
	return ok && o.Opaque()
}

func encode(img image.Image, f format) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if f == fmtJPEG {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&b, img)
	}
	return b.Bytes(), err
}

// thumbnail scales img to fit side×side (never up). A large picture is
// first brought near twice the target with a cheap filter, so the good
// filter's buffers stay small whatever the source.
func thumbnail(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := fit(b.Dx(), b.Dy(), side)
	if w == b.Dx() && h == b.Dy() {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	src := img
	if mw, mh := fit(b.Dx(), b.Dy(), 2*side); mw < b.Dx() {
		mid := image.NewRGBA(image.Rect(0, 0, mw, mh))
		draw.ApproxBiLinear.Scale(mid, mid.Bounds(), img, b, draw.Src, nil)
		src = mid
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// fit scales w×h down to fit side×side, keeping the aspect ratio.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, h*side/w)
	}
	return max(1, w*side/h), side
}

// orient applies an EXIF orientation (1-8) to img, so the stored picture
// needs none.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w // 5-8 swap the axes
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	at := pixelReader(img)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			i := dst.PixOffset(dx, dy)
			c := at(b.Min.X+x, b.Min.Y+y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = c.R, c.G, c.B, c.A
		}
	}
	return dst
}

// pixelReader reads pixels, fast for the YCbCr pictures JPEG decodes to.
func pixelReader(img image.Image) func(x, y int) color.RGBA {
	if yc, ok := img.(*image.YCbCr); ok {
		return func(x, y int) color.RGBA {
			c := yc.COffset(x, y)
			r, g, b := color.YCbCrToRGB(yc.Y[yc.YOffset(x, y)], yc.Cb[c], yc.Cr[c])
			return color.RGBA{r, g, b, 0xff}
		}
	}
	return func(x, y int) color.RGBA { return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) }
}
