package signature

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParsePublicKeyPEM(t *testing.T) {
	k := testKey()
	pkix, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edPKIX, _ := x509.MarshalPKIXPublicKey(edPub)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPKIX, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	// Go refuses to generate RSA keys under 1024 bits, so make a 512-bit
	// public key by hand: only its size matters here.
	n := new(big.Int).Lsh(big.NewInt(1), 511)
	n.Add(n, big.NewInt(0xf1))
	small := pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: n, E: 65537}))

	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"PKIX RSA", pemOf("PUBLIC KEY", pkix), true},
		{"PKIX RSA with text around it", "junk\n" + pemOf("PUBLIC KEY", pkix) + "\n\n", true},
		{"PKCS#1 RSA", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey)), true},
		{"PKIX Ed25519", pemOf("PUBLIC KEY", edPKIX), true},
		{"512-bit RSA", small, false},
		{"ECDSA", pemOf("PUBLIC KEY", ecPKIX), false},
		{"certificate type", pemOf("CERTIFICATE", pkix), false},
		{"PKCS#1 bytes labelled PKIX", pemOf("PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey)), false},
		{"not PEM", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := ParsePublicKeyPEM(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParsePublicKeyPEM: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && errs.CodeOf(err) != errs.Invalid {
				t.Errorf("code %s, want invalid", errs.CodeOf(err))
			}
			if err == nil && pub == nil {
				t.Error("nil key without an error")
			}
		})
	}
}

func TestParsePrivateKeyPEM(t *testing.T) {
	k := testKey()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ed8, _ := x509.MarshalPKCS8PrivateKey(ed)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec8, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"PKCS#1 RSA", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)), true},
		{"PKCS#8 RSA", pemOf("PRIVATE KEY", pkcs8), true},
		{"PKCS#8 Ed25519", pemOf("PRIVATE KEY", ed8), true},
		{"PKCS#8 ECDSA", pemOf("PRIVATE KEY", ec8), false},
		{"public key", pemOf("PUBLIC KEY", pkcs8), false},
		{"garbage", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := ParsePrivateKeyPEM(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParsePrivateKeyPEM: %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			// What parses must sign something Verify accepts.
			c := newPost(t)
			if err := Sign(c, activity, testKeyID, key, t0); err != nil {
				t.Fatal(err)
			}
			r := toServer(t, c, activity)
			var pub any = &k.PublicKey
			if e, ok := key.(ed25519.PrivateKey); ok {
				pub = e.Public()
			}
			if err := checkAndVerify(r, activity, t0, pub); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestFixtureActorKeys parses every publicKeyPem in the shared actor
// fixtures: 1024-bit (BookWyrm, Bridgy Fed) to 4096-bit keys must pass,
// and the PEM the Pleroma tests hand-edited must not.
func TestFixtureActorKeys(t *testing.T) {
	dir := fixtures(t)
	broken := map[string]bool{"mastodon/update-person.json": true}
	seen := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil {
			return nil
		}
		for _, k := range publicKeys(doc) {
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			seen++
			_, err := ParsePublicKeyPEM(k)
			if broken[rel] {
				if err == nil {
					t.Errorf("%s: the malformed PEM parsed", rel)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Fatalf("found only %d actor keys in %s", seen, dir)
	}
}

// publicKeys returns the publicKeyPem values of doc and of an embedded
// object (an Update's actor).
func publicKeys(doc map[string]any) []string {
	var out []string
	if pk, ok := doc["publicKey"].(map[string]any); ok {
		if s, ok := pk["publicKeyPem"].(string); ok {
			out = append(out, s)
		}
	}
	if obj, ok := doc["object"].(map[string]any); ok {
		out = append(out, publicKeys(obj)...)
	}
	return out
}

func TestKeyHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Remote.Example/users/bob#main-key", "remote.example"},
		{"http://localhost:3000/users/ronan2#main-key", "localhost:3000"},
		{"https://bookwyrm.example/user/mouse/#main-key", "bookwyrm.example"},
		{"https://[2001:db8::1]:8443/actor#key", "[2001:db8::1]:8443"},
		{"HTTPS://remote.example/k", "remote.example"},
	}
	for _, tt := range tests {
		got, err := KeyHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("KeyHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "Test", "//remote.example/k", "https://user:pw@remote.example/k", "mailto:bob@remote.example", "https://:443/k", "https://remote.example\n/k"} {
		if got, err := KeyHost(bad); err == nil {
			t.Errorf("KeyHost(%q) = %q, want an error", bad, got)
		} else if errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("KeyHost(%q) code %s", bad, errs.CodeOf(err))
		}
	}
}
