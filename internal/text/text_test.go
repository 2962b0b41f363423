package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Issue 15 (class of finding 8's dropped-error rows): ten private copies of
// "truncate" cut on byte counts, some inside a character, which PostgreSQL
// refuses; one helper, checked over every cut position of multi-byte text.
func TestIssue15CutNeverSplitsACharacter(t *testing.T) {
	for _, s := range []string{"", "abc", "héllo wörld", "日本語のテキスト", "🦆🦆🦆 ducks", strings.Repeat("é", 50)} {
		for n := -1; n <= len(s)+1; n++ {
			got := Cut(s, n)
			if !utf8.ValidString(got) || len(got) > max(n, 0) && len(s) > n || !strings.HasPrefix(s, got) {
				t.Fatalf("Cut(%q, %d) = %q", s, n, got)
			}
			if n >= len(s) && got != s {
				t.Fatalf("Cut(%q, %d) = %q, want it whole", s, n, got)
			}
			if c := Clip(s, n); len(s) > n && (!strings.HasSuffix(c, "…") || !utf8.ValidString(c)) {
				t.Fatalf("Clip(%q, %d) = %q", s, n, c)
			}
		}
	}
	if got := Cut("aé", 2); got != "a" {
		t.Errorf("Cut(aé, 2) = %q, want a", got)
	}
}
