// Package media takes uploads from local accounts: it checks what a file
// is by its bytes (never by its name or declared type), re-encodes images
// (stripping EXIF and anything hidden after the picture) with a thumbnail
// and a BlurHash, and keeps the files in a Blobs store (a directory, or an
// S3 bucket in media/s3) and their records in a Store (media/postgres).
//
// An upload belongs to its uploader: only they can see it through the
// API, change it, or attach it to a status, and its files are served only
// on its own tenant's domains.
package media

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/roost-social/roost/federation"
)

// Limits on uploads. An image's header is checked against the pixel
// limits before any pixel is decoded (SECURITY 30).
const (
	MaxBytes        = 16 << 20   // 413 past it
	MaxPixels       = 40_000_000 // width × height of an image
	MaxSide         = 16384      // either side of an image
	ThumbSide       = 640        // the long side of a thumbnail, at most
	MaxDescription  = 1500       // characters of alt text
	MaxPerStatus    = 4          // attachments on one status
	maxKeyLength    = 200
	defaultParallel = 2 // images decoded at once: each may need a few hundred MB
)

// Kind is Mastodon's attachment type.
type Kind string

// The kinds Mastodon knows. Roost makes image, video and audio; gifv and
// unknown exist in the schema for completeness.
const (
	Image   Kind = "image"
	GIFV    Kind = "gifv"
	Video   Kind = "video"
	Audio   Kind = "audio"
	Unknown Kind = "unknown"
)

// State is where an upload is in its processing.
type State string

// An attachment is processing until its files are stored and described,
// then ready; a failed one is never attachable.
const (
	Processing State = "processing"
	Ready      State = "ready"
	Failed     State = "failed"
)

// Attachment is one upload.
type Attachment struct {
	ID          int64
	TenantID    int64
	AccountID   int64
	StatusID    int64 // zero while unattached
	Kind        Kind
	ContentType string
	FileKey     string
	Size        int64
	Width       int // zero when unknown (video, audio)
	Height      int
	// The thumbnail, for images; ThumbKey is "" when there is none.
	ThumbKey         string
	ThumbContentType string
	ThumbWidth       int
	ThumbHeight      int
	Blurhash         string
	FocusX, FocusY   float64 // each in [-1, 1]; 0,0 is the centre
	Description      string
	State            State
	CreatedAt        time.Time
}

// URL is where the file is served under base (a site's scheme and host).
func (a *Attachment) URL(base string) string { return base + "/media/" + a.FileKey }

// PreviewURL is the thumbnail's URL, or "" when there is none.
func (a *Attachment) PreviewURL(base string) string {
	if a.ThumbKey == "" {
		return ""
	}
	return base + "/media/" + a.ThumbKey
}

// Federation describes the attachment as a status carries it: what
// ActivityPub sends (URL, type, alt text, BlurHash, size, focal point) and
// what the client API shows (its id and preview). base is the scheme and
// host of the uploader's actor.
func (a *Attachment) Federation(base string) federation.Attachment {
	return federation.Attachment{
		Type: "Document", MediaType: a.ContentType, URL: a.URL(base), Description: a.Description,
		Blurhash: a.Blurhash, Width: a.Width, Height: a.Height, MediaID: a.ID, PreviewURL: a.PreviewURL(base),
		PreviewWidth: a.ThumbWidth, PreviewHeight: a.ThumbHeight, FocusX: a.FocusX, FocusY: a.FocusY,
	}
}

// IDString is the attachment's id as the client API writes ids.
func (a *Attachment) IDString() string { return strconv.FormatInt(a.ID, 10) }

// Store keeps attachment records. Every method acts on one account's (or,
// for MediaFile, one tenant's) media only.
type Store interface {
	// CreateMedia stores a new attachment and returns it with its id.
	CreateMedia(ctx context.Context, a *Attachment) (*Attachment, error)
	// MediaByIDs returns the account's attachments among ids, in no
	// particular order; ids of others are left out.
	MediaByIDs(ctx context.Context, accountID int64, ids []int64) ([]*Attachment, error)
	// UpdateMedia changes an unattached attachment's description and
	// focus: errs.NotFound unless it is the account's, errs.Invalid once
	// it is attached.
	UpdateMedia(ctx context.Context, accountID, id int64, description string, focusX, focusY float64) (*Attachment, error)
	// MediaFile returns the content type of the file (original or
	// thumbnail) stored under key for one of the tenant's attachments, or
	// errs.NotFound.
	MediaFile(ctx context.Context, tenantID int64, key string) (string, error)
	// DescribeMedia changes the description and focus of an attachment of
	// the account that is unattached or on statusID (a status edit's
	// media_attributes), or errs.NotFound.
	DescribeMedia(ctx context.Context, accountID, statusID, id int64, description string, focusX, focusY float64) error
	// DeleteMedia removes an unattached attachment of the account and
	// returns its file keys: errs.NotFound unless it is the account's,
	// errs.Invalid once it is attached.
	DeleteMedia(ctx context.Context, accountID, id int64) ([]string, error)
}

// Blobs stores files by key. Keys are made of lower-case letters, digits,
// '.', '-', '_' and '/' separated segments; implementations MUST be safe
// for concurrent use.
type Blobs interface {
	// Put stores size bytes from r under key, replacing any earlier file.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens the file under key: errs.NotFound when there is none. The
	// caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes the file under key; a missing file is not an error.
	Delete(ctx context.Context, key string) error
}
