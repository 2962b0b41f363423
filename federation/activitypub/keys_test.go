package activitypub_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// base58 encodes for the tests (the package only decodes).
func base58(b []byte) string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	n := new(big.Int).SetBytes(b)
	var out []byte
	for m, r := big.NewInt(58), new(big.Int); n.Sign() > 0; {
		n.DivMod(n, m, r)
		out = append([]byte{alphabet[r.Int64()]}, out...)
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append([]byte{'1'}, out...)
	}
	return string(out)
}

// The Ed25519 vector was computed independently (Python, big-integer
// base58 of 0xed01 followed by the bytes 1..32).
func TestMultikeyPEM(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i + 1)
	}
	got, err := ap.MultikeyPEM("z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(got))
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil || !pub.(ed25519.PublicKey).Equal(ed25519.PublicKey(raw)) {
		t.Fatalf("ed25519 multikey: %v %x", err, pub)
	}

	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	der := x509.MarshalPKCS1PublicKey(&rk.PublicKey)
	got, err = ap.MultikeyPEM("z" + base58(append([]byte{0x85, 0x24}, der...)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := pem.Decode([]byte(got)); b == nil || b.Type != "RSA PUBLIC KEY" || string(b.Bytes) != string(der) {
		t.Fatalf("rsa multikey: %q", got)
	}

	for name, in := range map[string]string{
		"not base58btc":  "f" + strings.Repeat("a", 40),
		"bad character":  "z0OIl",
		"unknown codec":  "z" + base58(append([]byte{0x12, 0x00}, raw...)),
		"short ed25519":  "z" + base58(append([]byte{0xed, 0x01}, raw[:31]...)),
		"rsa not PKCS#1": "z" + base58([]byte{0x85, 0x24, 1, 2, 3}),
		"too long":       "z" + strings.Repeat("2", 3000),
		"empty":          "",
	} {
		if _, err := ap.MultikeyPEM(in); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err %v, want invalid", name, err)
		}
	}
}

const actorHead = `"@context":"https://www.w3.org/ns/activitystreams","id":"https://a.example/u/x","type":"Person",
	"preferredUsername":"x","inbox":"https://a.example/u/x/inbox"`

// Every key shape an actor document uses picks the requested key with its
// PEM, and never a key the actor does not own.
func TestParseActorKeyShapes(t *testing.T) {
	edPEM, _ := ap.MultikeyPEM("z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK")
	const pemA, pemB = "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n", "-----BEGIN PUBLIC KEY-----\nB\n-----END PUBLIC KEY-----\n"
	multikey := `{"id":"https://a.example/u/x#ed25519-key","type":"Multikey","controller":"https://a.example/u/x",
		"publicKeyMultibase":"z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK"}`
	cases := []struct {
		name, doc, keyID, wantPEM string
	}{
		{"mastodon fragment", `{` + actorHead + `,"publicKey":{"id":"https://a.example/u/x#main-key","owner":"https://a.example/u/x","publicKeyPem":"` + esc(pemA) + `"}}`,
			"https://a.example/u/x#main-key", pemA},
		{"gotosocial path key", `{` + actorHead + `,"publicKey":{"id":"https://a.example/u/x/main-key","owner":"https://a.example/u/x","publicKeyPem":"` + esc(pemA) + `"}}`,
			"https://a.example/u/x/main-key", pemA},
		{"no owner (bridgy)", `{` + actorHead + `,"publicKey":{"id":"https://a.example/u/x#key","publicKeyPem":"` + esc(pemA) + `"}}`,
			"https://a.example/u/x#key", pemA},
		{"array, second key", `{` + actorHead + `,"publicKey":[{"id":"https://a.example/u/x#k1","owner":"https://a.example/u/x","publicKeyPem":"` + esc(pemA) + `"},
			{"id":"https://a.example/u/x#k2","owner":"https://a.example/u/x","publicKeyPem":"` + esc(pemB) + `"}]}`,
			"https://a.example/u/x#k2", pemB},
		{"FEP-521a ed25519 multikey", `{` + actorHead + `,"publicKey":{"id":"https://a.example/u/x#main-key","owner":"https://a.example/u/x","publicKeyPem":"` + esc(pemA) + `"},
			"assertionMethod":[` + multikey + `]}`, "https://a.example/u/x#ed25519-key", edPEM},
		{"multikey only, first key", `{` + actorHead + `,"assertionMethod":` + multikey + `}`, "", edPEM},
	}
	now := time.Now()
	for _, c := range cases {
		a, err := ap.ParseActorKey([]byte(c.doc), c.keyID, now)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if a.PublicKeyPEM != c.wantPEM || (c.keyID != "" && a.Remote.KeyID != c.keyID) {
			t.Errorf("%s: key %s %q", c.name, a.Remote.KeyID, a.PublicKeyPEM)
		}
	}
	refused := map[string]string{
		"key not listed": `{` + actorHead + `,"publicKey":{"id":"https://a.example/u/x#main-key","publicKeyPem":"` + esc(pemA) + `"}}`,
		"multikey of another controller": `{` + actorHead + `,"assertionMethod":{"id":"https://a.example/u/x#ed25519-key","type":"Multikey",
			"controller":"https://a.example/u/y","publicKeyMultibase":"z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK"}}`,
		"multikey on another host": `{` + actorHead + `,"assertionMethod":{"id":"https://b.example/u/x#ed25519-key","type":"Multikey",
			"controller":"https://a.example/u/x","publicKeyMultibase":"z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK"}}`,
		"broken multikey": `{` + actorHead + `,"assertionMethod":{"id":"https://a.example/u/x#ed25519-key","type":"Multikey",
			"controller":"https://a.example/u/x","publicKeyMultibase":"z0000"}}`,
	}
	for name, doc := range refused {
		keyID := "https://a.example/u/x#ed25519-key"
		if name == "key not listed" {
			keyID = "https://a.example/u/x#other-key"
		}
		if _, err := ap.ParseActorKey([]byte(doc), keyID, now); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err %v, want invalid", name, err)
		}
	}
}

// The document at a key's address names its owner in every shape that
// is not the whole actor; anything else names none.
func TestOwnerOfKey(t *testing.T) {
	const owner = "https://a.example/u/x"
	pemA := esc("-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n")
	cases := []struct {
		name, doc, keyID, want string
	}{
		{"gotosocial stub", `{"@context":["https://w3id.org/security/v1","https://www.w3.org/ns/activitystreams"],"id":"` + owner + `",
			"preferredUsername":"x","publicKey":{"id":"` + owner + `/main-key","owner":"` + owner + `","publicKeyPem":"` + pemA + `"},"type":"Person"}`,
			owner + "/main-key", owner},
		{"standalone Key", `{"id":"https://a.example/keys/1","type":"Key","owner":"` + owner + `","publicKeyPem":"` + pemA + `"}`,
			"https://a.example/keys/1", owner},
		{"standalone CryptographicKey", `{"id":"https://a.example/keys/2","type":"CryptographicKey","owner":{"id":"` + owner + `"},"publicKeyPem":"` + pemA + `"}`,
			"https://a.example/keys/2", owner},
		{"standalone Multikey", `{"id":"https://a.example/keys/3","type":"Multikey","controller":"` + owner + `",
			"publicKeyMultibase":"z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK"}`, "https://a.example/keys/3", owner},
		{"stub with assertionMethod", `{"id":"` + owner + `","assertionMethod":[{"id":"` + owner + `#ed","type":"Multikey",
			"publicKeyMultibase":"z6MkeXCES4onVW4up9Qgz1KRnZsKmGufcaZxF6Zpv2w5QwUK"}]}`, owner + "#ed", owner},
		{"another key's document", `{"id":"https://a.example/keys/1","type":"Key","owner":"` + owner + `","publicKeyPem":"` + pemA + `"}`,
			"https://a.example/keys/9", ""},
		{"key without material", `{"id":"https://a.example/keys/1","type":"Key","owner":"` + owner + `"}`, "https://a.example/keys/1", ""},
		{"a note", `{"id":"https://a.example/n/1","type":"Note","attributedTo":"` + owner + `"}`, "https://a.example/n/1", ""},
		{"not JSON", `<html>`, owner + "#main-key", ""},
	}
	for _, c := range cases {
		if got := ap.OwnerOfKey([]byte(c.doc), c.keyID); got != c.want {
			t.Errorf("%s: owner %q, want %q", c.name, got, c.want)
		}
	}
}

func esc(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }
