package signature

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
)

// signPostWith signs a POST of activity at t0 over headers exactly, with
// extra applied to the client request first (to plant odd Date or Digest
// values Sign would never write).
func signPostWith(t *testing.T, headers []string, extra func(*http.Request)) *http.Request {
	t.Helper()
	c := newPost(t)
	c.Host = "a.example"
	c.Header.Set("Date", t0.Format(http.TimeFormat))
	sum := sha256.Sum256(activity)
	c.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	if extra != nil {
		extra(c)
	}
	if err := sign(c, testKeyID, testKey(), headers); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return toServer(t, c, activity)
}

// reparam rewrites r's Signature header through Params.
func reparam(t *testing.T, r *http.Request, edit func(*Params)) *Params {
	t.Helper()
	p, err := ParseHeader(r.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	edit(p)
	r.Header.Set("Signature", p.String())
	return p
}

var full = []string{"(request-target)", "host", "date", "digest", "content-type"}

// TestSignedHeadersRequired is SECURITY 3: each signature below is
// cryptographically valid, and Check refuses it for what it leaves out.
func TestSignedHeadersRequired(t *testing.T) {
	pub := &testKey().PublicKey
	tests := []struct {
		name    string
		headers []string
		noList  bool // drop headers= after signing over "date" alone
		msg     string
	}{
		{"no digest", []string{"(request-target)", "host", "date", "content-type"}, false, "signature is missing the digest header"},
		{"no (request-target)", []string{"host", "date", "digest"}, false, "signature is missing the (request-target) header"},
		{"no host", []string{"(request-target)", "date", "digest"}, false, "signature is missing the host header"},
		{"no date or (created)", []string{"(request-target)", "host", "digest"}, false, "signature is missing the date header"},
		{"no headers= parameter", []string{"date"}, true, "signature must list its signed headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signPostWith(t, tt.headers, nil)
			if tt.noList {
				reparam(t, r, func(p *Params) { p.Headers = nil })
			}
			_, err := Check(r, activity, t0)
			wantUnauthorized(t, err, tt.msg)
			p, err := ParseHeader(r.Header.Get("Signature"))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(r, p, pub); err != nil {
				t.Errorf("the signature itself should verify: %v", err)
			}
		})
	}
}

func TestGetWithBodyNeedsDigest(t *testing.T) {
	c, _ := http.NewRequest(http.MethodGet, "https://a.example/users/alice", nil)
	if err := Sign(c, nil, testKeyID, testKey(), t0); err != nil {
		t.Fatal(err)
	}
	r := toServer(t, c, nil)
	_, err := Check(r, []byte("smuggled"), t0)
	wantUnauthorized(t, err, "signature is missing the digest header")
}

// TestDateWindow is SECURITY 5: the request is signed at t0 and checked at
// other moments.
func TestDateWindow(t *testing.T) {
	r := signedPost(t, activity)
	tests := []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"just signed", t0, true},
		{"11 h old", t0.Add(11 * time.Hour), true},
		{"exactly 12 h old", t0.Add(12 * time.Hour), true},
		{"13 h old", t0.Add(13 * time.Hour), false},
		{"30 min ahead", t0.Add(-30 * time.Minute), true},
		{"2 h ahead", t0.Add(-2 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAndVerify(r, activity, tt.now, &testKey().PublicKey)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantUnauthorized(t, err, "Date is outside the accepted window")
		})
	}
}

func TestDateMalformed(t *testing.T) {
	tests := []struct {
		name  string
		dates []string
		msg   string
	}{
		{"unparsable", []string{"yesterday at noon"}, "Date is not a valid HTTP date"},
		{"RFC 3339", []string{t0.Format(time.RFC3339)}, "Date is not a valid HTTP date"},
		{"two Date headers", []string{t0.Format(http.TimeFormat), t0.Format(http.TimeFormat)}, "exactly one Date header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signPostWith(t, full, func(c *http.Request) { c.Header["Date"] = tt.dates })
			_, err := Check(r, activity, t0)
			wantUnauthorized(t, err, tt.msg)
		})
	}
}

// TestCreatedInsteadOfDate signs (created)/(expires) the way httpsig does,
// from the wall clock, so "now" is taken from the signature itself.
func TestCreatedInsteadOfDate(t *testing.T) {
	headers := []string{"(request-target)", "host", "(created)", "(expires)", "digest"}
	c := newPost(t)
	c.Host = "a.example"
	sum := sha256.Sum256(activity)
	c.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	// httpsig sets created/expires only through its expiresIn argument,
	// which Sign does not use; sign here by hand with it.
	if err := signExpiring(c, headers, 300); err != nil {
		t.Fatal(err)
	}
	r := toServer(t, c, activity)
	p, err := ParseHeader(r.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Created == 0 || p.Expires != p.Created+300 {
		t.Fatalf("created %d expires %d", p.Created, p.Expires)
	}
	now := time.Unix(p.Created, 0)
	if err := checkAndVerify(r, activity, now, &testKey().PublicKey); err != nil {
		t.Fatalf("fresh (created) signature refused: %v", err)
	}
	_, err = Check(r, activity, time.Unix(p.Expires+1, 0))
	wantUnauthorized(t, err, "signature has expired")
	_, err = Check(r, activity, now.Add(-2*time.Hour))
	wantUnauthorized(t, err, "created time is outside the accepted window")

	reparam(t, r, func(p *Params) { p.Created = 0 })
	_, err = Check(r, activity, now)
	wantUnauthorized(t, err, "missing the created parameter")
}

func TestAlgorithms(t *testing.T) {
	pub := &testKey().PublicKey
	for _, alg := range []string{"", "rsa-sha256", "hs2019", "RSA-SHA256"} {
		t.Run("accepts "+alg, func(t *testing.T) {
			r := signedPost(t, activity)
			reparam(t, r, func(p *Params) { p.Algorithm = alg })
			if err := checkAndVerify(r, activity, t0, pub); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	for _, alg := range []string{"rsa-sha1", "hmac-sha256", "rsa-sha512", "ecdsa-sha256", "none"} {
		t.Run("refuses "+alg, func(t *testing.T) {
			r := signedPost(t, activity)
			p := reparam(t, r, func(p *Params) { p.Algorithm = alg })
			_, err := Check(r, activity, t0)
			wantUnauthorized(t, err, "signature algorithm must be")
			// Verify refuses on its own, too.
			wantUnauthorized(t, Verify(r, p, pub), "algorithm does not match")
		})
	}
	t.Run("ed25519 declared, RSA key", func(t *testing.T) {
		r := signedPost(t, activity)
		p := reparam(t, r, func(p *Params) { p.Algorithm = "ed25519" })
		wantUnauthorized(t, Verify(r, p, pub), "algorithm does not match")
	})
	t.Run("HMAC key", func(t *testing.T) {
		r := signedPost(t, activity)
		p, _ := ParseHeader(r.Header.Get("Signature"))
		wantUnauthorized(t, Verify(r, p, []byte("secret")), "key type is not supported")
	})
}

func TestOneSignatureOnly(t *testing.T) {
	pub := &testKey().PublicKey
	t.Run("Signature and Authorization", func(t *testing.T) {
		r := signedPost(t, activity)
		r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		_, err := Check(r, activity, t0)
		wantUnauthorized(t, err, "more than one signature")
	})
	t.Run("Signature twice", func(t *testing.T) {
		r := signedPost(t, activity)
		r.Header.Add("Signature", r.Header.Get("Signature"))
		_, err := Check(r, activity, t0)
		wantUnauthorized(t, err, "more than one signature")
	})
	t.Run("none", func(t *testing.T) {
		r := signedPost(t, activity)
		r.Header.Del("Signature")
		_, err := Check(r, activity, t0)
		wantUnauthorized(t, err, "request is not signed")
	})
	t.Run("Authorization: Signature alone", func(t *testing.T) {
		r := signedPost(t, activity)
		r.Header.Set("Authorization", "Signature "+r.Header.Get("Signature"))
		r.Header.Del("Signature")
		if err := checkAndVerify(r, activity, t0, pub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Authorization: Bearer beside Signature", func(t *testing.T) {
		r := signedPost(t, activity)
		r.Header.Set("Authorization", "Bearer keyId=not-a-signature")
		if err := checkAndVerify(r, activity, t0, pub); err != nil {
			t.Fatal(err)
		}
	})
}

func TestKeyIDMustBeURL(t *testing.T) {
	for _, keyID := range []string{
		"Test",
		"main-key",
		"/users/bob#main-key",
		"acct:bob@remote.example",
		"ftp://remote.example/users/bob#main-key",
		"https://",
		"https:///users/bob",
		"https://bob@remote.example/users/bob#main-key",
		"https://remote.example:80:80/x",
	} {
		t.Run(keyID, func(t *testing.T) {
			r := signedPost(t, activity)
			reparam(t, r, func(p *Params) { p.KeyID = keyID })
			_, err := Check(r, activity, t0)
			wantUnauthorized(t, err, "keyId must be an absolute http(s) URL")
		})
	}
}

func TestOversizedHeader(t *testing.T) {
	r := signedPost(t, activity)
	r.Header.Set("Signature", r.Header.Get("Signature")+`,pad="`+strings.Repeat("x", MaxHeaderLen)+`"`)
	_, err := Check(r, activity, t0)
	wantUnauthorized(t, err, "Signature header is too long")
}

func TestDigestForms(t *testing.T) {
	sum := sha256.Sum256(activity)
	good := base64.StdEncoding.EncodeToString(sum[:])
	other := base64.StdEncoding.EncodeToString(make([]byte, 64))
	tests := []struct {
		name   string
		digest []string
		msg    string // empty: accepted
	}{
		{"SHA-256", []string{"SHA-256=" + good}, ""},
		{"lower-case algorithm", []string{"sha-256=" + good}, ""},
		{"among others", []string{"SHA-512=" + other + ", SHA-256=" + good}, ""},
		{"SHA-512 only", []string{"SHA-512=" + other}, "Digest must include SHA-256"},
		{"SHA-256 twice", []string{"SHA-256=" + good + ",SHA-256=" + good}, "more than once"},
		{"not base64", []string{"SHA-256=not*base64"}, "malformed"},
		{"wrong length", []string{"SHA-256=" + other}, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signPostWith(t, full, func(c *http.Request) { c.Header["Digest"] = tt.digest })
			err := checkAndVerify(r, activity, t0, &testKey().PublicKey)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantUnauthorized(t, err, tt.msg)
		})
	}
	t.Run("absent", func(t *testing.T) {
		r := signPostWith(t, full, nil)
		r.Header.Del("Digest")
		_, err := Check(r, activity, t0)
		wantUnauthorized(t, err, "signed header digest is missing")
	})
}

// signExpiring signs with httpsig's own (created)/(expires) support, which
// takes created from the wall clock.
func signExpiring(r *http.Request, headers []string, expiresIn int64) error {
	s, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, expiresIn)
	if err != nil {
		return err
	}
	h := r.Header.Clone()
	h["Host"] = []string{r.Host}
	shadow := &http.Request{Method: r.Method, URL: wireTarget(r.URL), Host: r.Host, Header: h}
	if err := s.SignRequest(testKey(), testKeyID, shadow, nil); err != nil {
		return err
	}
	r.Header.Set("Signature", shadow.Header.Get("Signature"))
	return nil
}

func TestSignedHeaderAbsent(t *testing.T) {
	r := signPostWith(t, append(append([]string(nil), full...), "x-custom"), func(c *http.Request) { c.Header.Set("X-Custom", "1") })
	r.Header.Del("X-Custom")
	_, err := Check(r, activity, t0)
	wantUnauthorized(t, err, "signed header x-custom is missing")
}
