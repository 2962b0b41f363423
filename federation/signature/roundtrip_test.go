package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSignPostRoundTrip(t *testing.T) {
	r := signedPost(t, activity)
	p, err := Check(r, activity, t0)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	want := []string{"(request-target)", "host", "date", "digest", "content-type"}
	if !reflect.DeepEqual(p.Headers, want) {
		t.Errorf("signed headers = %q, want %q", p.Headers, want)
	}
	if p.Algorithm != "rsa-sha256" || p.KeyID != testKeyID {
		t.Errorf("algorithm %q keyId %q, want rsa-sha256 %q", p.Algorithm, p.KeyID, testKeyID)
	}
	if got := r.Header.Get("Date"); got != "Sat, 14 Mar 2026 15:09:26 GMT" {
		t.Errorf("Date = %q", got)
	}
	sum := sha256.Sum256(activity)
	if got, want := r.Header.Get("Digest"), "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Digest = %q, want %q", got, want)
	}
	if r.Host != "a.example" {
		t.Errorf("Host = %q, want a.example", r.Host)
	}
	if err := Verify(r, p, &testKey().PublicKey); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// httpsig.NewVerifier writes Host into the header map it is given;
	// Verify must hand it a copy.
	if _, ok := r.Header["Host"]; ok {
		t.Error("Verify added Host to the request's header map")
	}
}

func TestSignGetRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		accept string
		want   []string
	}{
		{"with Accept", "application/activity+json", []string{"(request-target)", "host", "date", "accept"}},
		{"without Accept", "", []string{"(request-target)", "host", "date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An escaped path and a query: (request-target) must be what
			// goes over the wire on both sides, not the decoded path.
			c, err := http.NewRequest(http.MethodGet, "https://a.example/users/a%2Fb/outbox?page=true&min_id=1", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.accept != "" {
				c.Header.Set("Accept", tt.accept)
			}
			if err := Sign(c, nil, testKeyID, testKey(), t0); err != nil {
				t.Fatal(err)
			}
			if c.Header.Get("Digest") != "" {
				t.Error("GET got a Digest header")
			}
			r := toServer(t, c, nil)
			p, err := Check(r, nil, t0)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if !reflect.DeepEqual(p.Headers, tt.want) {
				t.Errorf("signed headers = %q, want %q", p.Headers, tt.want)
			}
			if err := Verify(r, p, &testKey().PublicKey); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			r.URL.RawQuery = "page=true&min_id=2"
			wantUnauthorized(t, Verify(r, p, &testKey().PublicKey), "signature does not verify")
		})
	}
}

// TestTampering changes one thing in a signed POST each time. Body and
// Digest tampering must fail in Check (no key fetched); the rest pass
// Check, being well-formed, and fail in Verify.
func TestTampering(t *testing.T) {
	pub := &testKey().PublicKey
	tests := []struct {
		name    string
		tamper  func(r *http.Request, body []byte) []byte
		inCheck string // non-empty: Check fails with this message
	}{
		{"one body byte, Digest unchanged (SECURITY 2)", func(r *http.Request, body []byte) []byte {
			body[len(body)-3] ^= 1
			return body
		}, "Digest does not match the body"},
		{"body and recomputed Digest, signature unchanged", func(r *http.Request, body []byte) []byte {
			body[len(body)-3] ^= 1
			sum := sha256.Sum256(body)
			r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
			return body
		}, ""},
		{"path", func(r *http.Request, body []byte) []byte {
			r.URL.Path = "/users/carol/inbox"
			return body
		}, ""},
		{"method", func(r *http.Request, body []byte) []byte {
			r.Method = http.MethodPut
			return body
		}, ""},
		{"Host: replayed to tenant B (SECURITY 4)", func(r *http.Request, body []byte) []byte {
			r.Host = "b.example"
			return body
		}, ""},
		{"Date, still in the window", func(r *http.Request, body []byte) []byte {
			r.Header.Set("Date", t0.Add(-time.Minute).Format(http.TimeFormat))
			return body
		}, ""},
		{"Content-Type", func(r *http.Request, body []byte) []byte {
			r.Header.Set("Content-Type", "application/json")
			return body
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := append([]byte(nil), activity...)
			r := signedPost(t, body)
			body = tt.tamper(r, body)
			p, err := Check(r, body, t0)
			if tt.inCheck != "" {
				wantUnauthorized(t, err, tt.inCheck)
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			wantUnauthorized(t, Verify(r, p, pub), "signature does not verify")
		})
	}
}

// TestVerifySignsRequestHost pins where "host" comes from: r.Host, which
// the server sets from the real request, never a Host entry that code
// may have left in the header map.
func TestVerifySignsRequestHost(t *testing.T) {
	pub := &testKey().PublicKey
	r := signedPost(t, activity)
	p, err := Check(r, activity, t0)
	if err != nil {
		t.Fatal(err)
	}
	r.Header["Host"] = []string{"b.example"}
	if err := Verify(r, p, pub); err != nil {
		t.Errorf("stray Host header entry changed the verdict: %v", err)
	}
	r.Host = "b.example"
	r.Header["Host"] = []string{"a.example"}
	wantUnauthorized(t, Verify(r, p, pub), "signature does not verify")
}

func TestSignEd25519RoundTrip(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := newPost(t)
	if err := Sign(c, activity, testKeyID, priv, t0); err != nil {
		t.Fatal(err)
	}
	r := toServer(t, c, activity)
	p, err := Check(r, activity, t0)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if p.Algorithm != "hs2019" {
		t.Errorf("algorithm = %q, want hs2019", p.Algorithm)
	}
	if err := Verify(r, p, pub); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	// The RSA key of the same keyId must not verify it.
	wantUnauthorized(t, Verify(r, p, &testKey().PublicKey), "signature does not verify")
}

func TestSignTwiceReplacesSignature(t *testing.T) {
	c := newPost(t)
	if err := Sign(c, []byte(`{"a":1}`), testKeyID, testKey(), t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A retry re-signs with a fresh Date and body (SECURITY 35).
	if err := Sign(c, activity, testKeyID, testKey(), t0); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Header.Values("Signature")); n != 1 {
		t.Fatalf("%d Signature headers after re-signing, want 1", n)
	}
	r := toServer(t, c, activity)
	if err := checkAndVerify(r, activity, t0, &testKey().PublicKey); err != nil {
		t.Fatalf("re-signed request: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name  string
		keyID string
		ctype string
		key   any
	}{
		{"keyId not a URL", "main-key", "application/activity+json", testKey()},
		{"keyId with a quote", `https://remote.example/users/bob"#main-key`, "application/activity+json", testKey()},
		{"keyId with a comma", "https://remote.example/users/bob,x#main-key", "application/activity+json", testKey()},
		{"body without Content-Type", testKeyID, "", testKey()},
		{"unsupported key", testKeyID, "application/activity+json", []byte("hmac secret")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newPost(t)
			c.Header.Set("Content-Type", tt.ctype)
			if tt.ctype == "" {
				c.Header.Del("Content-Type")
			}
			if err := Sign(c, activity, tt.keyID, tt.key, t0); err == nil {
				t.Fatalf("Sign succeeded; Signature %q", c.Header.Get("Signature"))
			}
		})
	}
}

// signingString builds the draft-cavage signing string of a server-side
// request independently of httpsig, with (request-target) taken from the
// request line exactly as it arrived.
func signingString(r *http.Request, headers []string) string {
	var lines []string
	for _, h := range headers {
		switch h {
		case RequestTarget:
			lines = append(lines, h+": "+strings.ToLower(r.Method)+" "+r.RequestURI)
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			lines = append(lines, h+": "+strings.Join(r.Header.Values(h), ", "))
		}
	}
	return strings.Join(lines, "\n")
}

// TestIndependentSigningString checks Sign and Verify against a signing
// string built by hand, on a path with an escaped slash: peers sign the
// path as sent, not net/url's decoded Path.
func TestIndependentSigningString(t *testing.T) {
	const target = "https://a.example/users/a%2Fb/outbox?page=true"
	k := testKey()
	t.Run("Sign", func(t *testing.T) {
		c, _ := http.NewRequest(http.MethodGet, target, nil)
		c.Header.Set("Accept", "application/activity+json")
		if err := Sign(c, nil, testKeyID, k, t0); err != nil {
			t.Fatal(err)
		}
		r := toServer(t, c, nil)
		if r.RequestURI != "/users/a%2Fb/outbox?page=true" {
			t.Fatalf("RequestURI %q", r.RequestURI)
		}
		p, err := ParseHeader(r.Header.Get("Signature"))
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := base64.StdEncoding.DecodeString(p.Signature)
		sum := sha256.Sum256([]byte(signingString(r, p.Headers)))
		if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
			t.Fatalf("Sign's signature does not verify over %q: %v", signingString(r, p.Headers), err)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		c, _ := http.NewRequest(http.MethodGet, target, nil)
		c.Header.Set("Date", t0.Format(http.TimeFormat))
		r := toServer(t, c, nil)
		headers := []string{RequestTarget, "host", "date"}
		sum := sha256.Sum256([]byte(signingString(r, headers)))
		sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		p := &Params{KeyID: testKeyID, Algorithm: "rsa-sha256", Headers: headers, Signature: base64.StdEncoding.EncodeToString(sig)}
		r.Header.Set("Signature", p.String())
		if err := checkAndVerify(r, nil, t0, &k.PublicKey); err != nil {
			t.Fatal(err)
		}
	})
}
