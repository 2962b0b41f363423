package archive

import (
	"bytes"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Issue 18: a lone CSV is read as the one list of an archive, under the
// archive's limits: its bytes when wrapped, its rows when opened.
func TestIssue18LoneCSVBounded(t *testing.T) {
	open := func(kind Kind, csv string, limit int64, lim Limits) error {
		var buf bytes.Buffer
		if err := WrapCSV(&buf, kind, strings.NewReader(csv), limit, false); err != nil {
			return err
		}
		_, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), lim)
		return err
	}
	three := "a@x.example\nb@x.example\nc@x.example\n"
	for _, c := range []struct {
		name  string
		err   error
		wants string
	}{
		{"within", open(Blocks, three, 1<<10, Limits{}), ""},
		{"too many bytes", open(Blocks, three, 10, Limits{}), "larger than 10 bytes"},
		{"too many rows", open(Mutes, three, 1<<10, Limits{MaxRows: 2}), "more than 2 rows"},
		{"domain blocks", open(DomainBlocks, "#domain\nx.example\n", 1<<10, Limits{}), ""},
	} {
		if c.wants == "" && c.err != nil || c.wants != "" && (errs.CodeOf(c.err) != errs.Invalid || !strings.Contains(errs.MessageOf(c.err), c.wants)) {
			t.Errorf("%s: %v, want %q", c.name, c.err, c.wants)
		}
	}
	if _, err := LoneKind("following"); err != nil {
		t.Error(err)
	}
	if err := WrapCSV(&bytes.Buffer{}, Lists, strings.NewReader("x"), 10, true); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("overwriting lists: %v", err)
	}
}
