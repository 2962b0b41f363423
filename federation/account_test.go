package federation_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func TestValidUsername(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "alice", true},
		{"single letter", "a", true},
		{"single digit", "1", true},
		{"underscore only", "_", true},
		{"mixed case", "Alice_Bob", true},
		{"digits and underscores", "user_123", true},
		{"thirty characters", strings.Repeat("a", 30), true},
		{"empty", "", false},
		{"thirty-one characters", strings.Repeat("a", 31), false},
		{"dot", "alice.bob", false},
		{"hyphen", "alice-bob", false},
		{"space inside", "alice bob", false},
		{"leading space", " alice", false},
		{"trailing newline", "alice\n", false},
		{"at sign", "alice@example.com", false},
		{"leading at", "@alice", false},
		{"slash", "alice/bob", false},
		{"percent escape", "al%69ce", false},
		{"non-ASCII letter", "alicé", false},
		{"cyrillic lookalike", "аlice", false}, // first letter is U+0430
		{"fullwidth letters", "ａｌｉｃｅ", false},
		{"NUL byte", "ali\x00ce", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := federation.ValidUsername(tt.in); got != tt.want {
				t.Errorf("ValidUsername(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// fakeKeys is a key pair that satisfies Validate's presence check; Validate
// does not parse keys.
var fakeKeys = federation.KeyPair{PublicPEM: "public", PrivatePEM: "private"}

func TestNewAccountValidate(t *testing.T) {
	t.Parallel()
	valid := func() federation.NewAccount {
		return federation.NewAccount{
			TenantID:     1,
			Domain:       "alice.example",
			Username:     "alice",
			DisplayName:  "Alice",
			Email:        "alice@example.com",
			Password:     "correct horse battery",
			PasswordHash: "$2a$11$hash",
			Keys:         fakeKeys,
		}
	}
	tests := []struct {
		name     string
		mutate   func(*federation.NewAccount)
		wantCode errs.Code // "" means valid
	}{
		{"valid", func(*federation.NewAccount) {}, ""},
		{"empty display name is fine", func(a *federation.NewAccount) { a.DisplayName = "" }, ""},
		{"display name of 100 runes", func(a *federation.NewAccount) { a.DisplayName = strings.Repeat("é", 100) }, ""},
		{"display name of 100 emoji (400 bytes)", func(a *federation.NewAccount) { a.DisplayName = strings.Repeat("🐦", 100) }, ""},
		{"display name of 101 runes", func(a *federation.NewAccount) { a.DisplayName = strings.Repeat("x", 101) }, errs.Invalid},
		{"empty username", func(a *federation.NewAccount) { a.Username = "" }, errs.Invalid},
		{"blank username", func(a *federation.NewAccount) { a.Username = "   " }, errs.Invalid},
		{"username with dot", func(a *federation.NewAccount) { a.Username = "al.ice" }, errs.Invalid},
		{"username too long", func(a *federation.NewAccount) { a.Username = strings.Repeat("a", 31) }, errs.Invalid},
		{"username with inner space", func(a *federation.NewAccount) { a.Username = "al ice" }, errs.Invalid},
		{"missing email", func(a *federation.NewAccount) { a.Email = "" }, errs.Invalid},
		{"missing password", func(a *federation.NewAccount) { a.Password = "" }, errs.Invalid},
		{"missing password hash", func(a *federation.NewAccount) { a.PasswordHash = "" }, errs.Invalid},
		{"missing public key", func(a *federation.NewAccount) { a.Keys.PublicPEM = "" }, errs.Invalid},
		{"missing private key", func(a *federation.NewAccount) { a.Keys.PrivatePEM = "" }, errs.Invalid},
		{"missing both keys", func(a *federation.NewAccount) { a.Keys = federation.KeyPair{} }, errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			tt.mutate(&a)
			err := a.Validate()
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %s", tt.wantCode)
			}
			if got := errs.CodeOf(err); got != tt.wantCode {
				t.Errorf("Validate() code = %s, want %s (err %v)", got, tt.wantCode, err)
			}
			if errs.MessageOf(err) == "internal error" {
				t.Errorf("Validate() error %v has no client-safe message", err)
			}
		})
	}
}

func TestNewAccountValidateTrimsUsername(t *testing.T) {
	t.Parallel()
	a := federation.NewAccount{Username: " \talice_1 \n", Email: "a@example.com", Password: "pw", PasswordHash: "h", Keys: fakeKeys}
	if err := a.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if a.Username != "alice_1" {
		t.Errorf("Username after Validate = %q, want %q", a.Username, "alice_1")
	}
}

func TestGenerateKeyPair(t *testing.T) {
	t.Parallel()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}

	privBlock, rest := pem.Decode([]byte(kp.PrivatePEM))
	if privBlock == nil {
		t.Fatalf("private key is not PEM: %q", kp.PrivatePEM)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("private PEM has trailing data: %q", rest)
	}
	if privBlock.Type != "RSA PRIVATE KEY" {
		t.Errorf("private PEM type = %q, want RSA PRIVATE KEY (PKCS#1)", privBlock.Type)
	}
	priv, err := x509.ParsePKCS1PrivateKey(privBlock.Bytes)
	if err != nil {
		t.Fatalf("parse PKCS#1 private key: %v", err)
	}
	if err := priv.Validate(); err != nil {
		t.Errorf("private key does not validate: %v", err)
	}
	if got := priv.N.BitLen(); got != 2048 {
		t.Errorf("modulus is %d bits, want 2048", got)
	}

	pubBlock, rest := pem.Decode([]byte(kp.PublicPEM))
	if pubBlock == nil {
		t.Fatalf("public key is not PEM: %q", kp.PublicPEM)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Errorf("public PEM has trailing data: %q", rest)
	}
	if pubBlock.Type != "PUBLIC KEY" {
		t.Errorf("public PEM type = %q, want PUBLIC KEY (PKIX)", pubBlock.Type)
	}
	pubAny, err := x509.ParsePKIXPublicKey(pubBlock.Bytes)
	if err != nil {
		t.Fatalf("parse PKIX public key: %v", err)
	}
	pub, ok := pubAny.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("public key is %T, want *rsa.PublicKey", pubAny)
	}
	if !pub.Equal(&priv.PublicKey) {
		t.Error("public PEM does not match the private key")
	}
	if !strings.HasPrefix(kp.PublicPEM, "-----BEGIN PUBLIC KEY-----\n") ||
		!strings.HasSuffix(kp.PublicPEM, "-----END PUBLIC KEY-----\n") {
		t.Errorf("public PEM is not in the form actors publish: %q", kp.PublicPEM)
	}
}

func TestGenerateKeyPairIsFresh(t *testing.T) {
	t.Parallel()
	a, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if a.PublicPEM == b.PublicPEM || a.PrivatePEM == b.PrivatePEM {
		t.Error("two calls returned the same key pair")
	}
}

func TestNewLinksBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scheme string
		host   string
		port   int
		want   string
	}{
		{"https", "social.example", 0, "https://social.example"},
		{"https", "social.example", 443, "https://social.example"},
		{"https", "social.example", 8443, "https://social.example:8443"},
		{"https", "social.example", 80, "https://social.example:80"},
		{"http", "localhost", 0, "http://localhost"},
		{"http", "localhost", 80, "http://localhost"},
		{"http", "localhost", 8080, "http://localhost:8080"},
		{"http", "localhost", 443, "http://localhost:443"},
	}
	for _, tt := range tests {
		l := federation.NewLinks(tt.scheme, tt.host, tt.port)
		if l.Base != tt.want {
			t.Errorf("NewLinks(%q, %q, %d).Base = %q, want %q", tt.scheme, tt.host, tt.port, l.Base, tt.want)
		}
		if strings.HasSuffix(l.Base, "/") {
			t.Errorf("NewLinks(%q, %q, %d).Base = %q ends in a slash", tt.scheme, tt.host, tt.port, l.Base)
		}
	}
}

// TestLinksShapes pins the URL shapes: actor URIs are stored by other
// servers and must never change.
func TestLinksShapes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		links federation.Links
		base  string
	}{
		{federation.NewLinks("https", "social.alice.example", 0), "https://social.alice.example"},
		{federation.NewLinks("http", "localhost", 3000), "http://localhost:3000"},
	} {
		l, b := tt.links, tt.base
		got := map[string]string{
			"Actor":       l.Actor("alice"),
			"Key":         l.Key("alice"),
			"Profile":     l.Profile("alice"),
			"Inbox":       l.Inbox("alice"),
			"Outbox":      l.Outbox("alice"),
			"Followers":   l.Followers("alice"),
			"Following":   l.Following("alice"),
			"Featured":    l.Featured("alice"),
			"SharedInbox": l.SharedInbox(),
		}
		want := map[string]string{
			"Actor":       b + "/users/alice",
			"Key":         b + "/users/alice#main-key",
			"Profile":     b + "/@alice",
			"Inbox":       b + "/users/alice/inbox",
			"Outbox":      b + "/users/alice/outbox",
			"Followers":   b + "/users/alice/followers",
			"Following":   b + "/users/alice/following",
			"Featured":    b + "/users/alice/collections/featured",
			"SharedInbox": b + "/inbox",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s with base %s = %q, want %q", k, b, got[k], w)
			}
		}
	}
}

func TestLinksKeepUsernameCase(t *testing.T) {
	t.Parallel()
	l := federation.NewLinks("https", "example.com", 0)
	if got, want := l.Actor("Alice_B"), "https://example.com/users/Alice_B"; got != want {
		t.Errorf("Actor(%q) = %q, want %q", "Alice_B", got, want)
	}
	if got, want := l.Key("Alice_B"), "https://example.com/users/Alice_B#main-key"; got != want {
		t.Errorf("Key(%q) = %q, want %q", "Alice_B", got, want)
	}
}
