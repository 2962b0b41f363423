package archive

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/roost-social/roost/internal/text"
	"io"
	"strconv"

	"github.com/roost-social/roost/internal/errs"
)

// Sniff tells a zip from anything else by its end record alone, reading
// at most 64 KB from the end and inflating nothing: what a web request may
// afford before it queues an upload for the worker, which validates the
// rest.
func Sniff(r io.ReaderAt, size int64) error {
	const eocdLen, maxComment = 22, 65535
	n := min(size, eocdLen+maxComment)
	if n < eocdLen {
		return invalid("not a zip archive, or a truncated one")
	}
	tail := make([]byte, n)
	if _, err := r.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return invalid("not a zip archive, or a truncated one: %v", err)
	}
	i := bytes.LastIndex(tail, []byte("PK\x05\x06"))
	if i < 0 || len(tail)-i < eocdLen {
		return invalid("not a zip archive, or a truncated one")
	}
	dirSize := int64(binary.LittleEndian.Uint32(tail[i+12:]))
	dirOffset := int64(binary.LittleEndian.Uint32(tail[i+16:]))
	if dirOffset != 0xffffffff && dirOffset+dirSize > size-n+int64(i) {
		return invalid("not a zip archive, or a truncated one")
	}
	return nil
}

// ErrBudget is returned, wrapped in an errs.Invalid error, once reading an
// archive inflated more than its budget.
var ErrBudget = errors.New("inflate budget spent")

// meter counts the bytes inflated from one entry against its archive's
// budget and, when item is set, the bytes read since the last mark (one
// item or record at a time), so a reader above it never holds more than
// about item bytes of one value.
type meter struct {
	r     io.Reader
	a     *Archive
	name  string
	n     int64 // bytes read
	mark  int64
	item  int64 // 0: no per-item cap
	slack int64 // read ahead of the value by the reader above
	limit int64 // 0: no cap on the entry (beyond its declared size)
	over  error // returned past limit
	what  string
}

// maxRead caps one read, so a decoder above never reads far ahead of the
// value it is decoding: the per-item count stays close to the item's size.
const maxRead = 32 << 10

func (m *meter) Read(p []byte) (int, error) {
	if len(p) > maxRead {
		p = p[:maxRead]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	if err != nil && err != io.EOF {
		err = readError(m.name, err) // a checksum or format error: damaged
	}
	if berr := m.a.spend(m.name, int64(n)); berr != nil {
		return n, berr
	}
	if m.item > 0 && m.n-m.mark > m.item+m.slack {
		return n, invalid("%s: %s longer than %d bytes", text.Clip(m.name, maxNameInMessage), m.what, m.item)
	}
	if m.limit > 0 && m.n > m.limit {
		if m.over != nil {
			return n, m.over
		}
		return n, invalid("%s inflates to more than %d bytes", text.Clip(m.name, maxNameInMessage), m.limit)
	}
	return n, err
}

// spend takes n inflated bytes from the archive's budget.
func (a *Archive) spend(name string, n int64) error {
	a.inflated += n
	if a.inflated > a.budget {
		return errs.Wrap(errs.Invalid, ErrBudget, "the archive inflates to more than "+mb(a.budget)+
			" in all (reading "+text.Clip(name, maxNameInMessage)+"): refused")
	}
	return nil
}

// Inflated is how many bytes reading the archive inflated so far, over
// every pass.
func (a *Archive) Inflated() int64 { return a.inflated }

// open opens an entry through a meter.
func (a *Archive) open(f *zip.File) (*meter, io.Closer, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, nil, invalid("%s: %v", text.Clip(f.Name, maxNameInMessage), err)
	}
	return &meter{r: rc, a: a, name: f.Name}, rc, nil
}

// perItem bounds each value read through m (what names one, for errors)
// to item bytes, allowing slack bytes read ahead by the reader above.
func (m *meter) perItem(item, slack int64, what string) *meter {
	m.item, m.slack, m.what = item, slack, what
	return m
}

func mb(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// maxNameInMessage bounds a name taken from the archive in a message:
// names in a zip may be 64 KB long.
const maxNameInMessage = 120
