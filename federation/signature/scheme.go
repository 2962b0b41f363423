package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Scheme is an HTTP signature scheme.
type Scheme uint8

// The two schemes: draft-cavage-12, which every fediverse server speaks,
// and RFC 9421, which Mastodon 4.5 added.
const (
	Cavage Scheme = iota
	RFC9421
)

// String names the scheme for logs and benchmarks.
func (s Scheme) String() string {
	if s == RFC9421 {
		return "rfc9421"
	}
	return "cavage"
}

// Other is the scheme to fall back to.
func (s Scheme) Other() Scheme {
	if s == RFC9421 {
		return Cavage
	}
	return RFC9421
}

// SignWith signs r in scheme s: Sign for Cavage, Sign9421 for RFC9421.
func SignWith(s Scheme, r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) error {
	return SignDigest(s, r, DigestOf(body), keyID, key, now)
}

// SignDigest is SignWith for a body whose digest is known (nil: a
// request without a body): what it signs and sets is the same.
func SignDigest(s Scheme, r *http.Request, digest *Digest, keyID string, key crypto.PrivateKey, now time.Time) error {
	if s == RFC9421 {
		return sign9421(r, digest, keyID, key, now)
	}
	return signCavage(r, digest, keyID, key, now)
}

// Sign9421 signs r as an RFC 9421 message signature labelled "sig1":
// ("@method" "@target-uri") and, for a request with a body (body non-nil),
// "content-digest", with Content-Digest: sha-256=:...:; parameters created
// (now), keyid and alg (rsa-v1_5-sha256 for RSA keys, ed25519). Date is set
// too, for servers that log or check it. Any earlier signature of either
// scheme is removed.
func Sign9421(r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) error {
	return sign9421(r, DigestOf(body), keyID, key, now)
}

// sign9421 is Sign9421 with the body's digest computed (nil: no body).
func sign9421(r *http.Request, digest *Digest, keyID string, key crypto.PrivateKey, now time.Time) error {
	if r.URL == nil || r.URL.Opaque != "" || (r.URL.Scheme != "https" && r.URL.Scheme != "http") {
		return errors.New("signature: request URL must be absolute http(s)")
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	if _, err := KeyHost(keyID); err != nil || strings.ContainsAny(keyID, "\"\\") {
		return fmt.Errorf("signature: keyId %q is not a plain absolute http(s) URL", keyID)
	}
	var alg string
	switch key.(type) {
	case *rsa.PrivateKey:
		alg = AlgRSAv15SHA256
	case ed25519.PrivateKey:
		alg = AlgEd25519
	default:
		return fmt.Errorf("signature: cannot sign with a %T", key)
	}
	for _, h := range []string{"Signature", "Signature-Input", "Digest", "Authorization"} {
		r.Header.Del(h)
	}
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	comps := []sfItem{{kind: sfString, str: "@method"}, {kind: sfString, str: "@target-uri"}}
	if digest != nil {
		r.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(digest[:])+":")
		comps = append(comps, sfItem{kind: sfString, str: "content-digest"})
	}
	s := &rfcSig{label: "sig1", components: comps, params: []sfParam{
		{key: "created", val: sfItem{kind: sfInteger, num: now.Unix()}},
		{key: "keyid", val: sfItem{kind: sfString, str: keyID}},
		{key: "alg", val: sfItem{kind: sfString, str: alg}},
	}}
	base, err := signatureBase(r, s, r.URL.Scheme)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	sig, err := signBase(key, base)
	if err != nil {
		return err
	}
	r.Header.Set("Signature-Input", "sig1="+serializeInner(s.components, s.params))
	r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

func signBase(key crypto.PrivateKey, base string) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		h := sha256.Sum256([]byte(base))
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
		if err != nil {
			return nil, fmt.Errorf("signature: %w", err)
		}
		return sig, nil
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(base)), nil
	}
	return nil, fmt.Errorf("signature: cannot sign with a %T", key)
}

// DefaultMaxHosts bounds a Schemes' memory: the hosts we talk to most, a
// few hundred KB.
const DefaultMaxHosts = 10000

// Schemes remembers, per host, the signature scheme that host last
// accepted, for "double-knocking" (as Mastodon 4.5 does): a request is
// signed in the host's remembered scheme (cavage for a host never heard
// from, since every server accepts it) and, refused with 401 or 403,
// retried once in the other; whichever was accepted is remembered. The
// memory is in process and bounded: forgetting a host only costs one
// extra request to it later. The zero value is ready to use.
type Schemes struct {
	// Max bounds the hosts remembered (default DefaultMaxHosts); past it
	// the memory starts over.
	Max int

	mu    sync.RWMutex // every request reads; a host's first answer writes
	hosts map[string]Scheme
}

// First is the scheme to sign a first request to host with.
func (s *Schemes) First(host string) Scheme {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hosts[strings.ToLower(host)] // Cavage when unknown
}

// Accepted records that host accepted a request signed in scheme.
func (s *Schemes) Accepted(host string, scheme Scheme) {
	host = strings.ToLower(host)
	s.mu.RLock()
	old := s.hosts[host]
	s.mu.RUnlock()
	if old == scheme {
		// Known already, or cavage for a host never heard from (what First
		// answers for it anyway): no write lock, and a fan-out to thousands
		// of new hosts does not churn the memory of those that need 9421.
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.hosts[host]; ok && old == scheme {
		return
	}
	max := s.Max
	if max <= 0 {
		max = DefaultMaxHosts
	}
	if s.hosts == nil || len(s.hosts) >= max {
		s.hosts = make(map[string]Scheme)
	}
	s.hosts[host] = scheme
}

// Refused reports whether status means "signature not accepted": worth
// knocking again in the other scheme.
func Refused(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}
