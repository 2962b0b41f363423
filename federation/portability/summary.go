package portability

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxProblems is how many problems a summary lists, and MaxProblem how
// long one may be (bytes): an archive of a million bad rows gets counts
// and the first few reasons, never a line per row.
const (
	MaxProblems = 20
	MaxProblem  = 200
)

// Summary is what an import did: counts per kind, and the first problems.
type Summary struct {
	Created, Already, Refused, Published int // posts
	MediaStored, MediaSkipped            int
	FollowsQueued, FollowsAlready        int
	FollowsSkipped                       int   // not an address, or over the follow limit
	Restored, Skipped                    int   // blocks, mutes, list members, bookmarks
	Inflated                             int64 // bytes inflated from the zip, over every pass
	// ImportID is the import's job (archive_imports), whose counters go
	// on as its queued follows are sent; 0 when no job was recorded.
	ImportID int64

	problems []string
	more     int
}

// Problem records why something was skipped; past MaxProblems only the
// count grows.
func (s *Summary) Problem(format string, a ...any) {
	if len(s.problems) >= MaxProblems {
		s.more++
		return
	}
	s.problems = append(s.problems, oneLine(fmt.Sprintf(format, a...), MaxProblem))
}

// Problems are the problems kept, and how many more there were.
func (s *Summary) Problems() ([]string, int) { return s.problems, s.more }

// Lines is the summary as a job result: the counts, then one line per
// problem kept.
func (s *Summary) Lines() []string {
	lines := []string{fmt.Sprintf("posts: %d created, %d already imported, %d refused, %d published; "+
		"media: %d stored, %d skipped; follows: %d queued, %d already followed, %d skipped; rows: %d restored, %d skipped; "+
		"%d MB inflated", s.Created, s.Already, s.Refused, s.Published, s.MediaStored, s.MediaSkipped,
		s.FollowsQueued, s.FollowsAlready, s.FollowsSkipped, s.Restored, s.Skipped, s.Inflated>>20)}
	for _, p := range s.problems {
		lines = append(lines, "skipped: "+p)
	}
	if s.more > 0 {
		lines = append(lines, fmt.Sprintf("and %d more problems", s.more))
	}
	return lines
}

// String is Lines, one a line.
func (s *Summary) String() string { return strings.Join(s.Lines(), "\n") }

// oneLine makes text taken from an archive safe for a one-line message:
// control characters (newlines split a result into lines) become spaces,
// and it is cut to at most n bytes on a rune boundary.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
