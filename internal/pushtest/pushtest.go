// Package pushtest plays a Web Push service for tests: a loopback HTTP
// server holding a phone's subscription keys, which decrypts every push
// it receives (RFC 8291 aes128gcm, written here from the RFC with the
// standard library, independently of the sender's library) and checks
// its VAPID signature (RFC 8292) against the server key.
package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Keys are a subscriber's keys: its ECDH key pair and auth secret.
type Keys struct {
	Private *ecdh.PrivateKey
	Auth    []byte
}

// NewKeys makes fresh subscriber keys.
func NewKeys() (*Keys, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		return nil, err
	}
	return &Keys{Private: priv, Auth: auth}, nil
}

// P256DH is the public key as an app sends it (base64url, unpadded).
func (k *Keys) P256DH() string {
	return base64.RawURLEncoding.EncodeToString(k.Private.PublicKey().Bytes())
}

// AuthSecret is the auth secret as an app sends it.
func (k *Keys) AuthSecret() string { return base64.RawURLEncoding.EncodeToString(k.Auth) }

// Push is one request the receiver got.
type Push struct {
	Path    string
	Header  http.Header
	Payload []byte // decrypted; nil when it did not decrypt
	Err     error  // why it did not decrypt or verify
}

// Receiver is a push service on loopback for one subscriber.
type Receiver struct {
	*httptest.Server
	Keys *Keys
	// ServerKey is the VAPID public key (base64url) pushes must be
	// signed with; "" skips the check.
	ServerKey string

	mu       sync.Mutex
	pushes   []Push
	statuses []int
	arrived  chan struct{}
}

// NewReceiver starts a receiver; Close it when done.
func NewReceiver() (*Receiver, error) {
	keys, err := NewKeys()
	if err != nil {
		return nil, err
	}
	r := &Receiver{Keys: keys, arrived: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r, nil
}

// Answer queues statuses for the next requests (then 201 again).
func (r *Receiver) Answer(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, statuses...)
}

// Pushes returns what arrived so far.
func (r *Receiver) Pushes() []Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Push(nil), r.pushes...)
}

// Arrived is signalled once per push received.
func (r *Receiver) Arrived() <-chan struct{} { return r.arrived }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	p := Push{Path: req.URL.Path, Header: req.Header.Clone()}
	if err == nil {
		err = r.check(req, body)
	}
	if err == nil {
		p.Payload, err = Decrypt(r.Keys, body)
	}
	p.Err = err
	r.mu.Lock()
	r.pushes = append(r.pushes, p)
	status := http.StatusCreated
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	r.mu.Unlock()
	r.arrived <- struct{}{}
	w.WriteHeader(status)
}

// check verifies the headers RFC 8030/8291/8292 require.
func (r *Receiver) check(req *http.Request, _ []byte) error {
	switch {
	case req.Method != http.MethodPost:
		return fmt.Errorf("method %s", req.Method)
	case req.Header.Get("Content-Encoding") != "aes128gcm":
		return fmt.Errorf("content encoding %q", req.Header.Get("Content-Encoding"))
	case req.Header.Get("TTL") == "":
		return errors.New("no TTL")
	}
	return VerifyVAPID(req.Header.Get("Authorization"), r.ServerKey, "http://"+req.Host)
}

// Decrypt opens an aes128gcm body (RFC 8188 framing, RFC 8291 keys) with
// the subscriber's keys, for a single record, and strips the padding.
func Decrypt(k *Keys, body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || rs < 18 {
		return nil, errors.New("bad header")
	}
	senderPub, ciphertext := body[21:21+idlen], body[21+idlen:]
	if len(ciphertext) > int(rs) {
		return nil, errors.New("more than one record")
	}
	pub, err := ecdh.P256().NewPublicKey(senderPub)
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	shared, err := k.Private.ECDH(pub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), k.Private.PublicKey().Bytes()...), senderPub...)
	ikm, err := hkdf.Key(sha256.New, shared, k.Auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// The last record ends with 0x02 then zero padding.
	end := bytes.LastIndexByte(plain, 2)
	if end < 0 || len(bytes.Trim(plain[end+1:], "\x00")) != 0 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

// VerifyVAPID checks an RFC 8292 Authorization header: "vapid t=JWT,
// k=key", the key being serverKey (when given), the JWT signed by it
// (ES256) for audience aud.
func VerifyVAPID(header, serverKey, aud string) error {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return fmt.Errorf("header %q is not a vapid authorization", header)
	}
	var token, key string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			token = v
		case "k":
			key = v
		}
	}
	if serverKey != "" && key != serverKey {
		return fmt.Errorf("k=%s, want the server key %s", key, serverKey)
	}
	return verifyJWT(token, key, aud)
}

func verifyJWT(token, key, aud string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("JWT has not three parts")
	}
	pub, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(pub) != 65 {
		return errors.New("k is not a P-256 point")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("JWT signature is not ES256")
	}
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		return fmt.Errorf("k: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pk, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("JWT signature does not verify")
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var c struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(claims, &c); err != nil {
		return err
	}
	if c.Aud != aud || c.Sub == "" || c.Exp == 0 {
		return fmt.Errorf("claims %+v, want aud %s, a sub and an exp", c, aud)
	}
	return nil
}
