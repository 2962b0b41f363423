package signature

import (
	"bytes"
	"net/http"
	"testing"
)

// body2K is a 2 KB activity, about a Create(Note) with some HTML.
var body2K = append(append([]byte(`{"type":"Create","content":"`), bytes.Repeat([]byte("x"), 2048-40)...), `"}`...)

// BenchmarkVerify is an inbox's cost per delivery once the key is known:
// Check and Verify of an RSA-2048 signed 2 KB POST.
func BenchmarkVerify(b *testing.B) {
	r := signedPost(b, body2K)
	pub := &testKey().PublicKey
	b.ReportAllocs()
	for b.Loop() {
		p, err := Check(r, body2K, t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(r, p, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is a delivery's signing cost with RSA-2048.
func BenchmarkSign(b *testing.B) {
	r, err := http.NewRequest(http.MethodPost, "https://a.example/users/alice/inbox", nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	key := testKey()
	b.ReportAllocs()
	for b.Loop() {
		if err := Sign(r, body2K, testKeyID, key, t0); err != nil {
			b.Fatal(err)
		}
	}
}
