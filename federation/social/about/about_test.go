package about

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// TestIssue17RenderEscapesAndLinks: what an admin writes is escaped text
// with paragraphs, headings, lists and http(s) links only — pasted HTML
// and javascript: URLs never become markup.
func TestIssue17RenderEscapesAndLinks(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"one\r\ntwo\n\n  \nthree":               "<p>one<br>two</p><p>three</p>",
		`<script>alert(1)</script> & "x"`:       "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;x&#34;</p>",
		"see https://a.example/x?y=1&z=2.":      `<p>see <a href="https://a.example/x?y=1&amp;z=2" rel="nofollow noopener" target="_blank">https://a.example/x?y=1&amp;z=2</a>.</p>`,
		"[our blog](https://a.example/b)":       `<p><a href="https://a.example/b" rel="nofollow noopener" target="_blank">our blog</a></p>`,
		"[x](javascript:alert(1))":              "<p>[x](javascript:alert(1))</p>",
		`https://a.example/"onmouseover=x`:      `<p><a href="https://a.example/" rel="nofollow noopener" target="_blank">https://a.example/</a>&#34;onmouseover=x</p>`,
		"# Rules\n- be kind\n- no spam\nthanks": "<h1>Rules</h1><ul><li>be kind</li><li>no spam</li></ul><p>thanks</p>",
		"#nohashtag heading":                    "<p>#nohashtag heading</p>",
	} {
		if got := Render(in); got != want {
			t.Errorf("Render(%q)\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestIssue17ObfuscateAsMastodon(t *testing.T) {
	for in, want := range map[string]string{"hidden-domain.test": "hidde********.test", "a.b": "a.*", "evil.example": "evil.****ple"} {
		if got := Obfuscate(in); got != want {
			t.Errorf("Obfuscate(%q) = %q, want %q", in, got, want)
		}
	}
}

type fakeStore struct {
	federation.AboutStore
	terms []federation.TermsVersion
}

func (f fakeStore) TermsVersions(context.Context, int64) ([]federation.TermsVersion, error) {
	return f.terms, nil
}

// TestIssue17CurrentTermsByDate: the current version is the newest in
// effect, else the soonest to come; a date names exactly one version.
func TestIssue17CurrentTermsByDate(t *testing.T) {
	d := func(s string) time.Time { x, _ := time.Parse(DateFormat, s); return x }
	store := fakeStore{terms: []federation.TermsVersion{{EffectiveDate: d("2031-01-01"), Text: "c"},
		{EffectiveDate: d("2030-06-01"), Text: "b"}}}
	svc := &Service{Store: store, Now: func() time.Time { return time.Date(2030, 6, 1, 0, 30, 0, 0, time.UTC) }}
	cur, err := svc.CurrentTerms(context.Background(), 1)
	if err != nil || cur.Content != "<p>b</p>" || !cur.Effective || cur.SucceededBy == nil || !cur.SucceededBy.Equal(d("2031-01-01")) {
		t.Errorf("current on its first day: %+v %v", cur, err)
	}
	svc.Now = func() time.Time { return time.Date(2030, 5, 31, 23, 59, 0, 0, time.UTC) }
	if cur, err = svc.CurrentTerms(context.Background(), 1); err != nil || cur.Content != "<p>b</p>" || cur.Effective {
		t.Errorf("before any is in effect, the soonest: %+v %v", cur, err)
	}
	if _, err := svc.TermsOn(context.Background(), 1, "2030-06-02"); !errs.Is(err, errs.NotFound) {
		t.Errorf("a date of no version: %v", err)
	}
	if _, err := (&Service{Store: fakeStore{}}).CurrentTerms(context.Background(), 1); !errs.Is(err, errs.NotFound) {
		t.Errorf("no terms: %v", err)
	}
}
