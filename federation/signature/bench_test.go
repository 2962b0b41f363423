package signature

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
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

// BenchmarkVerifyScheme is an inbox's verification cost per delivery by
// scheme and key (issue 16): Check and Verify of a 2 KB POST signed in
// draft-cavage or RFC 9421, with RSA-2048 or Ed25519.
func BenchmarkVerifyScheme(b *testing.B) {
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		scheme Scheme
		key    crypto.PrivateKey
		pub    crypto.PublicKey
	}{
		{"cavage-rsa", Cavage, testKey(), &testKey().PublicKey},
		{"cavage-ed25519", Cavage, edKey, edPub},
		{"rfc9421-rsa", RFC9421, testKey(), &testKey().PublicKey},
		{"rfc9421-ed25519", RFC9421, edKey, edPub},
	} {
		b.Run(c.name, func(b *testing.B) {
			cr := newPost(b)
			if err := SignWith(c.scheme, cr, body2K, testKeyID, c.key, t0); err != nil {
				b.Fatal(err)
			}
			r := toServer(b, cr, body2K)
			b.ReportAllocs()
			for b.Loop() {
				p, err := Check(r, body2K, t0)
				if err != nil {
					b.Fatal(err)
				}
				if err := Verify(r, p, c.pub); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
