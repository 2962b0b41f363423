package tenant

import (
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// TestNormalizeHost covers the forms a Host header or a typed domain takes:
// what is normalised and to what, and what is refused with errs.Invalid.
func TestNormalizeHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 61 + "." separators: 4*61 + 3 = 247, plus ".examp" = 253.
	name253 := strings.Repeat(strings.Repeat("b", 61)+".", 4) + "examp"
	if len(name253) != 253 {
		t.Fatalf("test setup: name253 has %d bytes", len(name253))
	}

	valid := []struct {
		name, in, want string
	}{
		{"already normal", "alice.example", "alice.example"},
		{"single label", "localhost", "localhost"},
		{"upper case", "ALICE.EXAMPLE", "alice.example"},
		{"mixed case with trailing dot", "MaStOdOn.Social.", "mastodon.social"},
		{"port", "a.example:8080", "a.example"},
		{"port with upper case", "A.Example:443", "a.example"},
		{"trailing dot", "a.example.", "a.example"},
		{"trailing dot and port", "a.example.:80", "a.example"},
		{"IDN to punycode", "Bücher.example", "xn--bcher-kva.example"},
		{"IDN lower case", "bücher.example", "xn--bcher-kva.example"},
		{"IDN with port", "bücher.example:8443", "xn--bcher-kva.example"},
		{"punycode kept", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"punycode upper case", "XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"},
		{"fullwidth letters", "ＡＢＣ.example", "abc.example"},
		{"ideographic full stop", "a。example", "a.example"},
		{"digits and inner hyphens", "a-1.b2-c.example", "a-1.b2-c.example"},
		{"digit-leading labels", "1password.example", "1password.example"},
		{"all-digit inner label", "123.example", "123.example"},
		{"label of 63", label63 + ".example", label63 + ".example"},
		{"name of 253", name253, name253},
		{"name of 253 with trailing dot", name253 + ".", name253},
	}
	for _, tc := range valid {
		t.Run("ok/"+tc.name, func(t *testing.T) {
			got, err := NormalizeHost(tc.in)
			if err != nil {
				t.Fatalf("NormalizeHost(%q): unexpected error %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("NormalizeHost(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}

	invalid := []struct {
		name, in string
	}{
		{"empty", ""},
		{"only a dot", "."},
		{"only a port", ":80"},
		{"IPv4", "127.0.0.1"},
		{"IPv4 with port", "127.0.0.1:80"},
		{"IPv4 with trailing dot", "127.0.0.1."},
		{"IPv6 bracketed", "[::1]"},
		{"IPv6 bracketed with port", "[::1]:443"},
		{"IPv6 bare", "::1"},
		{"IPv6 full", "2001:db8::1"},
		{"empty label", "a..b"},
		{"leading dot", ".a.example"},
		{"two trailing dots", "a.example.."},
		{"leading hyphen", "-a.example"},
		{"trailing hyphen", "a-.example"},
		{"trailing hyphen in last label", "a.example-"},
		{"underscore", "a_b.example"},
		{"slash", "a/b.example"},
		{"userinfo", "user@host"},
		{"userinfo with domain", "user@a.example"},
		{"space", "a b.example"},
		{"non-numeric port", "a.example:http"},
		{"empty port", "a.example:"},
		{"negative port", "a.example:-1"},
		{"label of 64", strings.Repeat("a", 64) + ".example"},
		{"name of 254", "c" + name253},
		{"upper-case label of 64", strings.Repeat("A", 64) + ".example"},
		{"NUL byte", "a\x00.example"},
		{"fullwidth IPv4", "１２７.０.０.１"},
		{"zero-width joiner", "a\u200db.example"},
		{"replacement character", "a\ufffd.example"},
	}
	for _, tc := range invalid {
		t.Run("bad/"+tc.name, func(t *testing.T) {
			got, err := NormalizeHost(tc.in)
			if err == nil {
				t.Fatalf("NormalizeHost(%q) = %q, want an error", tc.in, got)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("NormalizeHost(%q): error %v has code %s, want %s", tc.in, err, errs.CodeOf(err), errs.Invalid)
			}
			if got != "" {
				t.Fatalf("NormalizeHost(%q) returned %q alongside an error", tc.in, got)
			}
		})
	}
}

// TestNormalizeHostAllocatesNothing checks the documented promise that an
// already-normal ASCII host costs no allocation: it runs on every request.
func TestNormalizeHostAllocatesNothing(t *testing.T) {
	for _, host := range []string{"alice.example", "social.alice.example", "localhost", "xn--bcher-kva.example"} {
		var out string
		allocs := testing.AllocsPerRun(1000, func() {
			out, _ = NormalizeHost(host)
		})
		if out != host {
			t.Fatalf("NormalizeHost(%q) = %q, want it unchanged", host, out)
		}
		if allocs != 0 {
			t.Errorf("NormalizeHost(%q): %v allocations per call, want 0", host, allocs)
		}
	}
}

// FuzzNormalizeHost checks, for any input, that NormalizeHost does not
// panic and that a successful result is a fixed point holding only
// [a-z0-9.-], within DNS's length limits.
func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{
		"", ".", "localhost", "alice.example", "MaStOdOn.Social.", "a.example:8080",
		"Bücher.example", "xn--bcher-kva.example", "127.0.0.1", "127.0.0.1:80",
		"[::1]", "[::1]:443", "::1", "a..b", "-a.example", "a-.example",
		"a_b.example", "a/b.example", "user@host", strings.Repeat("a", 64) + ".example",
		"ＡＢＣ.example", "１２７.０.０.１", "ß.example", "a\u200db.example", "xn--.example",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := NormalizeHost(raw)
		if err != nil {
			if out != "" {
				t.Fatalf("NormalizeHost(%q) = %q alongside error %v", raw, out, err)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("NormalizeHost(%q): error %v is not %s", raw, err, errs.Invalid)
			}
			return
		}
		if out == "" || len(out) > 253 {
			t.Fatalf("NormalizeHost(%q) = %q: length %d out of 1..253", raw, out, len(out))
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
				t.Fatalf("NormalizeHost(%q) = %q: byte %q at %d is outside [a-z0-9.-]", raw, out, c, i)
			}
		}
		again, err := NormalizeHost(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeHost(%q) = %q, but NormalizeHost(%q) = %q, %v: not idempotent", raw, out, out, again, err)
		}
	})
}

// TestNormalizeHostEdgeCases pins inputs NormalizeHost once got wrong: the
// old wrong answer is reported with why it was wrong; any other wrong
// answer fails too.
func TestNormalizeHostEdgeCases(t *testing.T) {
	cases := []struct {
		name, in string
		wantErr  bool
		want     string
		buggy    string // the wrong output seen today ("" with buggyErr)
		buggyErr bool
		why      string
	}{
		{
			name: "invalid UTF-8 is accepted", in: "a\xff.example", wantErr: true,
			buggy: "xn--a-q10i.example",
			why:   "idna maps the invalid byte to U+FFFD, which NormalizeHost refuses when spelled out; check utf8.ValidString first",
		},
		{
			name: "upper-case twin of an accepted ASCII name is refused", in: "AB--C.example", want: "ab--c.example",
			buggyErr: true,
			why:      "lower-case ASCII skips IDNA but upper case goes through idna.Lookup, whose CheckHyphens refuses '--' at positions 3-4",
		},
		{
			name: "ideographic trailing dot", in: "A.EXAMPLE。", want: "a.example",
			buggyErr: true,
			why:      "the trailing dot is trimmed before IDNA maps U+3002 to '.', leaving an empty last label",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeHost(tc.in)
			if (tc.buggyErr && err != nil) || (!tc.buggyErr && tc.buggy != "" && err == nil && got == tc.buggy) {
				t.Fatalf("regression: NormalizeHost(%q) = %q, %v: %s", tc.in, got, err, tc.why)
			}
			if tc.wantErr {
				if err == nil || !errs.Is(err, errs.Invalid) {
					t.Fatalf("NormalizeHost(%q) = %q, %v; want an %s error", tc.in, got, err, errs.Invalid)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// Registration is stricter than lookup: punycode must decode.
func TestNormalizeDomain(t *testing.T) {
	for in, want := range map[string]string{
		"Bücher.Example.":       "xn--bcher-kva.example",
		"XN--BCHER-KVA.example": "xn--bcher-kva.example",
		"club.example":          "club.example",
	} {
		if got, err := NormalizeDomain(in); err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"xn--zz.example", "XN--ZZ.example", "127.0.0.1", "a/b.example"} {
		if got, err := NormalizeDomain(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want an invalid error", in, got, err)
		}
	}
}
