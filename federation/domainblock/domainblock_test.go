package domainblock

import (
	"bytes"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

func TestParseListMastodonCSVAndPlain(t *testing.T) {
	csv := "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n" +
		"Spam.Example,suspend,false,false,\"spam, lots\",false\n" +
		"loud.example,silence,true,false,,true\n" +
		"media.example,noop,true,true,,false\n"
	bs, err := ParseList([]byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 || bs[0].Domain != "spam.example" || bs[0].PublicComment != "spam, lots" || bs[1].Severity != Silence ||
		!bs[1].RejectMedia || !bs[1].Obfuscate || bs[2].Severity != Noop || !bs[2].RejectReports {
		t.Fatalf("parsed %+v", bs)
	}
	// What we export reads back the same.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, bs); err != nil {
		t.Fatal(err)
	}
	again, err := ParseList(buf.Bytes())
	if err != nil || len(again) != 3 {
		t.Fatalf("round trip: %v %v", again, err)
	}
	for i := range bs {
		if !SameRule(bs[i], again[i]) || bs[i].Domain != again[i].Domain {
			t.Fatalf("round trip changed %+v into %+v", bs[i], again[i])
		}
	}
	plain, err := ParseList([]byte("# comment\n*.evil.example\nother.example\n\nother.example\n"))
	if err != nil || len(plain) != 2 || plain[0].Domain != "evil.example" || plain[0].Severity != Suspend {
		t.Fatalf("plain = %+v %v", plain, err)
	}
	for _, bad := range []string{
		"#domain,#severity\nok.example,suspend\nbad domain,suspend\n",
		"#domain,#severity\nok.example,obliterate\n",
		"#domain,#reject_media\nok.example,maybe\n",
		"not a domain!\n",
		"",
	} {
		if _, err := ParseList([]byte(bad)); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseList(%q) err = %v, want invalid", bad, err)
		}
	}
}

func TestPolicyCoversSubdomainsAndScopes(t *testing.T) {
	p := NewPolicy([]Block{
		{TenantID: 0, Domain: "evil.example", Severity: Suspend},
		{TenantID: 7, Domain: "loud.example", Severity: Silence, RejectReports: true},
		{TenantID: 8, Domain: "media.example", Severity: Noop, RejectMedia: true},
	})
	for _, c := range []struct {
		tenant int64
		host   string
		want   Verdict
	}{
		{1, "evil.example", Verdict{Suspend: true, RejectMedia: true, RejectReports: true}},
		{1, "A.B.Evil.Example:8443", Verdict{Suspend: true, RejectMedia: true, RejectReports: true}},
		{1, "notevil.example", Verdict{}},
		{7, "x.loud.example", Verdict{Silence: true, RejectReports: true}},
		{8, "loud.example", Verdict{}},
		{8, "media.example", Verdict{RejectMedia: true}},
		{7, "media.example", Verdict{}},
	} {
		if got := p.Check(c.tenant, c.host); got != c.want {
			t.Errorf("Check(%d, %s) = %+v, want %+v", c.tenant, c.host, got, c.want)
		}
	}
	var empty *Policy
	if empty.Check(1, "evil.example").Suspend {
		t.Fatal("a nil policy blocks")
	}
}

func TestDiff(t *testing.T) {
	cur := map[string]Block{
		"a.example": {Domain: "a.example", Severity: Silence, PrivateComment: "keep"},
		"b.example": {Domain: "b.example", Severity: Suspend},
	}
	ch := Diff(cur, []Block{{Domain: "c.example", Severity: Suspend}, {Domain: "b.example", Severity: Suspend},
		{Domain: "a.example", Severity: Suspend}})
	if len(ch) != 3 || ch[0].Kind != Add || ch[1].Kind != Update || ch[1].New.PrivateComment != "keep" || ch[2].Kind != Unchanged {
		t.Fatalf("diff = %+v", ch)
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	var bs []Block
	for i := range 20000 {
		bs = append(bs, Block{Domain: "host" + string(rune('a'+i%26)) + ".example" + string(rune('a'+i%7)), Severity: Suspend, TenantID: int64(i % 5)})
	}
	p := NewPolicy(bs)
	b.ReportAllocs()
	for b.Loop() {
		p.Check(3, "mastodon.social.example:443")
	}
}
