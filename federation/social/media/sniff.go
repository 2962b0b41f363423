package media

import (
	"bytes"
	"encoding/binary"
)

// format is what a file is, by its bytes.
type format struct {
	kind        Kind
	contentType string
	ext         string
	image       bool // decoded and re-encoded
}

// Recognised formats. Images are re-encoded, so what is stored is always
// our own PNG or JPEG; video and audio are stored as sent, and served
// with the sniffed type (never one the client declared).
var (
	fmtJPEG = format{Image, "image/jpeg", "jpg", true}
	fmtPNG  = format{Image, "image/png", "png", true}
	fmtGIF  = format{Image, "image/gif", "gif", true}
	fmtWebP = format{Image, "image/webp", "webp", true}
	fmtMP4  = format{Video, "video/mp4", "mp4", false}
	fmtMOV  = format{Video, "video/quicktime", "mov", false}
	fmtWebM = format{Video, "video/webm", "webm", false}
	fmtM4A  = format{Audio, "audio/mp4", "m4a", false}
	fmtMP3  = format{Audio, "audio/mpeg", "mp3", false}
	fmtOgg  = format{Audio, "audio/ogg", "ogg", false}
	fmtWAV  = format{Audio, "audio/wav", "wav", false}
	fmtFLAC = format{Audio, "audio/flac", "flac", false}
)

// sniff recognises a file by its first bytes. Anything else — SVG, HTML,
// PDF, scripts, archives, formats we cannot check — is refused.
func sniff(b []byte) (format, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return fmtJPEG, true
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return fmtPNG, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return fmtGIF, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return fmtWebP, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return fmtWAV, true
	case bytes.HasPrefix(b, []byte("\x1a\x45\xdf\xa3")):
		return fmtWebM, true // Matroska/WebM (EBML)
	case bytes.HasPrefix(b, []byte("OggS")):
		return fmtOgg, true
	case bytes.HasPrefix(b, []byte("fLaC")):
		return fmtFLAC, true
	case bytes.HasPrefix(b, []byte("ID3")), len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0 && b[1]&0x06 != 0:
		return fmtMP3, true // ID3 tag, or an MPEG audio frame header (layer bits set)
	}
	return sniffISO(b)
}

// sniffISO recognises ISO base media files (MP4, MOV, M4A) by the brands
// of their leading ftyp box.
func sniffISO(b []byte) (format, bool) {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return format{}, false
	}
	size := int(binary.BigEndian.Uint32(b[:4]))
	if size < 16 || size > len(b) {
		size = min(len(b), 64)
	}
	var brands []string
	for i := 8; i+4 <= size; i += 4 {
		if i != 12 { // bytes 12-16 are the minor version
			brands = append(brands, string(b[i:i+4]))
		}
	}
	for _, br := range brands {
		switch br {
		case "M4A ", "M4B ":
			return fmtM4A, true
		case "qt  ":
			return fmtMOV, true
		}
	}
	for _, br := range brands {
		switch br {
		case "isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V ", "dash", "3gp4", "3gp5", "3g2a":
			return fmtMP4, true
		}
	}
	return format{}, false
}
