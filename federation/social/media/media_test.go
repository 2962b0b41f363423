package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// memStore is a Store in memory, enough for the service's rules.
type memStore struct {
	mu   sync.Mutex
	rows map[int64]*Attachment
}

func (m *memStore) CreateMedia(_ context.Context, a *Attachment) (*Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[int64]*Attachment{}
	}
	c := *a
	c.ID = int64(len(m.rows) + 1)
	m.rows[c.ID] = &c
	return &c, nil
}

func (m *memStore) MediaByIDs(_ context.Context, accountID int64, ids []int64) ([]*Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Attachment
	for _, id := range ids {
		if a, ok := m.rows[id]; ok && a.AccountID == accountID {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) UpdateMedia(_ context.Context, accountID, id int64, d string, fx, fy float64) (*Attachment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.rows[id]
	if !ok || a.AccountID != accountID {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	a.Description, a.FocusX, a.FocusY = d, fx, fy
	c := *a
	return &c, nil
}

func (m *memStore) DescribeMedia(_ context.Context, accountID, statusID, id int64, d string, fx, fy float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.rows[id]
	if !ok || a.AccountID != accountID || (a.StatusID != 0 && a.StatusID != statusID) {
		return errs.E(errs.NotFound, "Record not found")
	}
	a.Description, a.FocusX, a.FocusY = d, fx, fy
	return nil
}

func (m *memStore) DeleteMedia(_ context.Context, accountID, id int64) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.rows[id]
	if !ok || a.AccountID != accountID {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if a.StatusID != 0 {
		return nil, errs.E(errs.Invalid, "attached")
	}
	delete(m.rows, id)
	keys := []string{a.FileKey}
	if a.ThumbKey != "" {
		keys = append(keys, a.ThumbKey)
	}
	return keys, nil
}

func (m *memStore) MediaFile(_ context.Context, tenantID int64, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.rows {
		if a.TenantID == tenantID && a.FileKey == key {
			return a.ContentType, nil
		}
		if a.TenantID == tenantID && a.ThumbKey == key {
			return a.ThumbContentType, nil
		}
	}
	return "", errs.E(errs.NotFound, "no such file")
}

func newService(t *testing.T) (*Service, *LocalStore) {
	t.Helper()
	blobs := NewLocalStore(t.TempDir())
	return &Service{Store: &memStore{}, Blobs: blobs}, blobs
}

func upload(t *testing.T, s *Service, data []byte) (*Attachment, error) {
	t.Helper()
	return s.Upload(context.Background(), Upload{TenantID: 1, AccountID: 7, File: bytes.NewReader(data)})
}

func stored(t *testing.T, b Blobs, key string) []byte {
	t.Helper()
	r, _, err := b.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer r.Close()
	data, _ := io.ReadAll(r)
	return data
}

func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func wantCode(t *testing.T, what string, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// pngHeader is a PNG that claims w×h pixels: signature, IHDR, a tiny IDAT
// and IEND, with valid CRCs. Decoding it would allocate w×h×4 bytes.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// jpegHeader is a JPEG start claiming w×h pixels (SOI, SOF0, then the
// start of a scan that never comes).
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	b = append(b, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0)
	return append(b, 0xff, 0xda, 0x00, 0x0c, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0)
}

// SECURITY 30: a 50k×50k header is refused from the header alone, without
// allocating the picture (which would take 10 GB).
func TestHugeDimensionsRefusedBeforeDecoding(t *testing.T) {
	s, _ := newService(t)
	for name, data := range map[string][]byte{
		"png 50000x50000":  pngHeader(50000, 50000),
		"png 16385x1":      pngHeader(16385, 1),
		"png 7000x7000":    pngHeader(7000, 7000), // 49 MP
		"jpeg 50000x50000": jpegHeader(50000, 50000),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := upload(t, s, data)
		runtime.ReadMemStats(&after)
		wantCode(t, name, err, errs.Invalid)
		if !strings.Contains(errs.MessageOf(err), "too large") {
			t.Errorf("%s: %v, want a too-large refusal", name, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("%s: refusing it allocated %d bytes", name, grew)
		}
	}
}

func TestSizeCap(t *testing.T) {
	s, _ := newService(t)
	big := io.MultiReader(bytes.NewReader(pngOf(t, gradient(8, 8))), bytes.NewReader(make([]byte, MaxBytes)))
	_, err := s.Upload(context.Background(), Upload{TenantID: 1, AccountID: 7, File: big})
	wantCode(t, "17 MB", err, errs.TooLarge)
	_, err = upload(t, s, nil)
	wantCode(t, "empty", err, errs.Invalid)
}

// Scripts and documents are refused, whatever they claim to be.
func TestNonMediaRefused(t *testing.T) {
	s, _ := newService(t)
	for name, data := range map[string]string{
		"svg":           `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`,
		"svg with xml":  `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`,
		"html":          `<!DOCTYPE html><html><script>alert(1)</script></html>`,
		"json":          `{"@context":"https://www.w3.org/ns/activitystreams","type":"Person"}`,
		"pdf":           "%PDF-1.7\n",
		"bmp":           "BM\x00\x00\x00\x00",
		"truncated png": "\x89PNG\r\n\x1a\n\x00\x00",
	} {
		a, err := upload(t, s, []byte(data))
		wantCode(t, name, err, errs.Invalid)
		if a != nil {
			t.Errorf("%s stored", name)
		}
	}
}

// A JPEG carrying EXIF (orientation and a private note) and a payload
// after its end is stored as pixels only, turned upright.
func TestEXIFAndTrailingDataStripped(t *testing.T) {
	var j bytes.Buffer
	if err := jpeg.Encode(&j, gradient(80, 40), nil); err != nil {
		t.Fatal(err)
	}
	// APP1 Exif, big-endian TIFF, IFD0 with Orientation = 6 (rotate 90°
	// clockwise) and an ImageDescription pointing at a private note.
	note := "SECRET-GPS-48.8584N-2.2945E\x00"
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x02")
	tiff = append(tiff, 0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0)
	tiff = binary.BigEndian.AppendUint16(append(tiff, 0x01, 0x0e, 0x00, 0x02), 0)
	tiff = binary.BigEndian.AppendUint16(tiff, uint16(len(note)))
	tiff = append(tiff, 0, 0, 0, 38, 0, 0, 0, 0)
	tiff = append(tiff, note...)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(seg)+2))
	data := append(append(append([]byte{}, j.Bytes()[:2]...), app1...), seg...)
	data = append(data, j.Bytes()[2:]...)
	data = append(data, "<script>alert(1)</script>"...)
	if jpegOrientation(data) != 6 {
		t.Fatalf("test JPEG orientation %d, want 6", jpegOrientation(data))
	}

	s, blobs := newService(t)
	a, err := upload(t, s, data)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != Image || a.ContentType != "image/jpeg" || a.Width != 40 || a.Height != 80 {
		t.Fatalf("attachment %+v, want an upright 40×80 JPEG", a)
	}
	out := stored(t, blobs, a.FileKey)
	for _, leak := range []string{"SECRET-GPS", "<script>", "Exif"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("stored file still contains %q", leak)
		}
	}
	if !bytes.HasSuffix(out, []byte{0xff, 0xd9}) {
		t.Error("stored file does not end at the JPEG's end")
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil || img.Bounds().Dx() != 40 || img.Bounds().Dy() != 80 {
		t.Fatalf("stored JPEG: %v %v", img.Bounds(), err)
	}
}

func TestThumbnailAndBlurhash(t *testing.T) {
	s, blobs := newService(t)
	for _, c := range []struct{ w, h, tw, th int }{
		{1600, 1200, 640, 480},
		{600, 1800, 213, 640},
		{100, 50, 100, 50},
	} {
		a, err := upload(t, s, pngOf(t, gradient(c.w, c.h)))
		if err != nil {
			t.Fatal(err)
		}
		if a.ContentType != "image/png" || a.Width != c.w || a.Height != c.h || a.ThumbWidth != c.tw || a.ThumbHeight != c.th {
			t.Errorf("%dx%d: %+v", c.w, c.h, a)
		}
		if len(a.Blurhash) < 6 {
			t.Errorf("%dx%d: blurhash %q", c.w, c.h, a.Blurhash)
		}
		thumb, err := png.Decode(bytes.NewReader(stored(t, blobs, a.ThumbKey)))
		if err != nil || thumb.Bounds().Dx() != c.tw || thumb.Bounds().Dy() != c.th {
			t.Errorf("%dx%d thumbnail: %v %v", c.w, c.h, thumb.Bounds(), err)
		}
		if ct, _ := s.Store.MediaFile(context.Background(), 1, a.ThumbKey); ct != "image/png" {
			t.Errorf("thumbnail content type %q", ct)
		}
	}
}

// GIF and WebP come in; PNG (or JPEG for an opaque WebP) goes out.
func TestOtherImageFormatsReencoded(t *testing.T) {
	s, blobs := newService(t)
	var g bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 30, 20), []color.Color{color.White, color.Black})
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	a, err := upload(t, s, g.Bytes())
	if err != nil || a.ContentType != "image/png" || a.Width != 30 {
		t.Fatalf("gif: %+v %v", a, err)
	}
	if _, err := png.Decode(bytes.NewReader(stored(t, blobs, a.FileKey))); err != nil {
		t.Fatalf("gif stored as %v", err)
	}
	// The smallest lossless WebP: one pixel.
	webp := []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
	a, err = upload(t, s, webp)
	if err != nil || a.Width != 1 || a.Height != 1 {
		t.Fatalf("webp: %+v %v", a, err)
	}
}

// Video and audio are kept as sent, typed by their bytes, without a
// thumbnail.
func TestVideoAndAudioKeptBySniffedType(t *testing.T) {
	s, blobs := newService(t)
	mp4 := append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), make([]byte, 64)...)
	for _, c := range []struct {
		data []byte
		kind Kind
		ct   string
	}{
		{mp4, Video, "video/mp4"},
		{append([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "), make([]byte, 32)...), Video, "video/quicktime"},
		{append([]byte("\x1a\x45\xdf\xa3"), make([]byte, 32)...), Video, "video/webm"},
		{append([]byte("ID3\x04\x00"), make([]byte, 32)...), Audio, "audio/mpeg"},
		{append([]byte("OggS\x00\x02"), make([]byte, 32)...), Audio, "audio/ogg"},
	} {
		a, err := upload(t, s, c.data)
		if err != nil || a.Kind != c.kind || a.ContentType != c.ct || a.ThumbKey != "" || a.Blurhash != "" {
			t.Fatalf("%s: %+v %v", c.ct, a, err)
		}
		if !bytes.Equal(stored(t, blobs, a.FileKey), c.data) {
			t.Errorf("%s not stored as sent", c.ct)
		}
	}
}

func TestDescriptionFocusAndOwnership(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	a, err := s.Upload(ctx, Upload{TenantID: 1, AccountID: 7, File: bytes.NewReader(pngOf(t, gradient(10, 10))),
		Description: "a gradient", Focus: "0.5,-0.25"})
	if err != nil || a.Description != "a gradient" || a.FocusX != 0.5 || a.FocusY != -0.25 {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []string{"2,0", "0.5", "x,y", "0.1,-1.5"} {
		_, err := s.Upload(ctx, Upload{TenantID: 1, AccountID: 7, File: bytes.NewReader(pngOf(t, gradient(4, 4))), Focus: bad})
		wantCode(t, "focus "+bad, err, errs.Invalid)
	}
	long := strings.Repeat("é", MaxDescription+1)
	_, err = s.Update(ctx, 7, a.ID, Change{Description: &long})
	wantCode(t, "long description", err, errs.Invalid)
	d := strings.Repeat("é", MaxDescription)
	if a, err = s.Update(ctx, 7, a.ID, Change{Description: &d}); err != nil || a.Description != d {
		t.Fatalf("update: %v", err)
	}
	_, err = s.Get(ctx, 8, a.ID)
	wantCode(t, "another account's upload", err, errs.NotFound)
	_, err = s.ForStatus(ctx, 8, []string{a.IDString()}, 0)
	wantCode(t, "attaching another account's upload", err, errs.Invalid)
	if got, err := s.ForStatus(ctx, 7, []string{a.IDString()}, 0); err != nil || len(got) != 1 {
		t.Fatalf("own upload: %v %v", got, err)
	}
	_, err = s.ForStatus(ctx, 7, []string{"1", "2", "3", "4", "5"}, 0)
	wantCode(t, "five attachments", err, errs.Invalid)
	// Files are served on their own tenant only.
	if _, err := s.Open(ctx, 2, a.FileKey); !errs.Is(err, errs.NotFound) {
		t.Fatalf("another tenant opened the file: %v", err)
	}
	f, err := s.Open(ctx, 1, a.FileKey)
	if err != nil || f.ContentType != "image/png" {
		t.Fatalf("open: %v", err)
	}
	f.Body.Close()
}

func TestLocalStoreKeys(t *testing.T) {
	st := NewLocalStore(t.TempDir())
	ctx := context.Background()
	for _, k := range []string{"", "../etc/passwd", "/abs", "a//b", "a/./b", "A/b", "a/b\x00", "a\\b"} {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q)", k)
		}
		if err := st.Put(ctx, k, strings.NewReader("x"), 1, "text/plain"); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
	}
	if err := st.Put(ctx, "ab12/original.png", strings.NewReader("data"), 4, "image/png"); err != nil {
		t.Fatal(err)
	}
	if got := string(stored(t, st, "ab12/original.png")); got != "data" {
		t.Fatalf("got %q", got)
	}
	if err := st.Delete(ctx, "ab12/original.png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, "ab12/original.png"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted file: %v", err)
	}
	if _, _, err := st.Get(ctx, "ab12"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a directory is not a file: %v", err)
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]string{
		"\xff\xd8\xff\xe0":             "image/jpeg",
		"GIF89a":                       "image/gif",
		"RIFF\x00\x00\x00\x00WAVEfmt ": "audio/wav",
		"fLaC\x00":                     "audio/flac",
		"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom": "audio/mp4",
		"\xff\xfb\x90\x00": "audio/mpeg",
	} {
		f, ok := sniff([]byte(in))
		if !ok || f.contentType != want {
			t.Errorf("sniff(%q) = %v %v, want %s", in, f.contentType, ok, want)
		}
	}
	for _, in := range []string{"<svg", "\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "PK\x03\x04", "#!/bin/sh"} {
		if f, ok := sniff([]byte(in)); ok {
			t.Errorf("sniff(%q) = %v", in, f.contentType)
		}
	}
}
