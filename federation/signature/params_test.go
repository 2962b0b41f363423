package signature

import (
	"reflect"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// mastodonHeader is the Signature header of the Mastodon 2.5 fixture.
const mastodonHeader = `keyId="http://localhost:3000/users/ronan2#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="oLKbgxdFXdXsHJ3x/UsG9Svu7oa8Dyqiy6Jif4wqNuhAqRVMRaG18f+dd2OcfFX3XRGF8p8flZkU6vvoEQBauTwGRGcgXAJuKC1zYIWGk+PeiW8lNUnE4qGapWcTiFnIo7FKauNdsgqg/tvgs1pQIdHkDDjZMI64twP7sTN/4vG1PCq+kyqi/DM+ORLi/W7vFuLVHt2Iz7ikfw/R3/mMtS4FwLops+tVYBQ2iQ9DVRhTwLKVbeL/LLVB/tdGzNZ4F4nImBAQQ9I7WpPM6J/k+cBmoEbrUKs8ptx9gbX3OSsl5wlvPVMNzU9F9yb2MrB/Y/J4qssKz+LbiaktKGj7OQ=="`

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Params // nil: an error is expected
	}{
		{"Mastodon", mastodonHeader, &Params{
			KeyID:     "http://localhost:3000/users/ronan2#main-key",
			Algorithm: "rsa-sha256",
			Headers:   []string{"(request-target)", "host", "date", "digest", "content-type"},
			Signature: mastodonHeader[strings.Index(mastodonHeader, `signature="`)+11 : len(mastodonHeader)-1],
		}},
		{"comma inside quotes", `keyId="https://a.example/k,headers=x",signature="c2ln"`,
			&Params{KeyID: "https://a.example/k,headers=x", Signature: "c2ln"}},
		{"escaped quote", `keyId="https://a.example/\"k\\",signature="c2ln"`,
			&Params{KeyID: `https://a.example/"k\`, Signature: "c2ln"}},
		{"spaces around = and commas, empty elements", ` keyId = "k" ,, headers="Date  HOST", signature="c2ln",`,
			&Params{KeyID: "k", Headers: []string{"date", "host"}, Signature: "c2ln"}},
		{"created and expires, bare and quoted", `keyId="k",created=1402170695, expires="1402170699",signature="c2ln"`,
			&Params{KeyID: "k", Created: 1402170695, Expires: 1402170699, Signature: "c2ln"}},
		{"unknown parameter ignored", `keyId="k",foo="bar",signature="c2ln"`,
			&Params{KeyID: "k", Signature: "c2ln"}},
		{"names are case-insensitive", `KEYID="k",Algorithm="HS2019",Signature="c2ln"`,
			&Params{KeyID: "k", Algorithm: "hs2019", Signature: "c2ln"}},

		{"duplicate keyId", `keyId="a",keyId="b",signature="c2ln"`, nil},
		{"duplicate differing in case", `keyId="a",KeyId="b",signature="c2ln"`, nil},
		{"duplicate headers", `keyId="a",headers="date",headers="host",signature="c2ln"`, nil},
		{"duplicate signature", `keyId="a",signature="c2ln",signature="eA=="`, nil},
		{"no keyId", `signature="c2ln"`, nil},
		{"empty keyId", `keyId="",signature="c2ln"`, nil},
		{"no signature", `keyId="k"`, nil},
		{"unterminated quote", `keyId="k,signature="c2ln`, nil},
		{"missing comma", `keyId="k" signature="c2ln"`, nil},
		{"missing =", `keyId "k",signature="c2ln"`, nil},
		{"no name", `="k",signature="c2ln"`, nil},
		{"newline in value", "keyId=\"k\nx\",signature=\"c2ln\"", nil},
		{"NUL in value", "keyId=\"k\x00\",signature=\"c2ln\"", nil},
		{"empty headers", `keyId="k",headers="",signature="c2ln"`, nil},
		{"repeated header name", `keyId="k",headers="date Date",signature="c2ln"`, nil},
		{"unknown pseudo-header", `keyId="k",headers="(foo) date",signature="c2ln"`, nil},
		{"negative created", `keyId="k",created=-1,signature="c2ln"`, nil},
		{"fractional created", `keyId="k",created=1.5,signature="c2ln"`, nil},
		{"huge created", `keyId="k",created=99999999999999999999,signature="c2ln"`, nil},
		{"empty", ``, nil},
		{"too long", `keyId="k",signature="` + strings.Repeat("A", MaxHeaderLen) + `"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", got)
				}
				if errs.CodeOf(err) != errs.Unauthorized || errs.MessageOf(err) == "internal error" {
					t.Errorf("error %v is not a client-safe unauthorized", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			back, err := ParseHeader(got.String())
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Errorf("String() %q parses back to %+v, %v", got.String(), back, err)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		mastodonHeader,
		`keyId="Test",algorithm="rsa-sha256",created=1402170695, expires=1402170699,headers="(request-target) (created) (expires) host date content-type digest content-length",signature="vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="`,
		`keyId="https://a.example/k,x",signature="a\"b\\c"`,
		`keyId=k,signature=c2ln`,
		`,,keyId = "k" , signature = "s" ,`,
		`keyId="k",headers="date date",signature="s"`,
		`keyId="`,
		`=`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseHeader(s)
		if err != nil {
			if errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("error %v is not unauthorized", err)
			}
			return
		}
		if p.KeyID == "" || p.Signature == "" {
			t.Fatalf("parsed %q into %+v with an empty keyId or signature", s, p)
		}
		back, err := ParseHeader(p.String())
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("%+v renders as %q, which parses to %+v, %v", p, p.String(), back, err)
		}
	})
}
