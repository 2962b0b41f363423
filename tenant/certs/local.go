package certs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// LocalIssuerKey is the issuer key of ROOST_TLS=self-signed certificates.
const LocalIssuerKey = "roost-local"

// Where the local CA lives in storage: one per instance, shared by its
// nodes, so a developer trusts it once.
const (
	LocalCACertKey = "roost/local-ca/ca.crt"
	localCAKeyKey  = "roost/local-ca/ca.key"
	localCALock    = "roost_local_ca"
)

// localIssuer signs certificates with a local CA, for development: no
// network, no rate limits, same on-demand rules as ACME.
type localIssuer struct {
	storage *Storage
	log     *slog.Logger
	// Validity of issued certificates; certmagic renews at a third left.
	validity time.Duration

	mu    sync.Mutex
	ca    *x509.Certificate
	key   crypto.Signer
	caPEM []byte
}

var _ certmagic.Issuer = (*localIssuer)(nil)

func (l *localIssuer) IssuerKey() string { return LocalIssuerKey }

// Issue signs csr's names with the local CA.
func (l *localIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	ca, key, caPEM, err := l.authority(ctx)
	if err != nil {
		return nil, err
	}
	if len(csr.DNSNames) == 0 {
		return nil, fmt.Errorf("certificate request names no DNS name")
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: csr.DNSNames[0]},
		DNSNames:     csr.DNSNames,
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(l.validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, csr.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caPEM...)
	return &certmagic.IssuedCertificate{Certificate: chain}, nil
}

// authority loads the instance's CA from storage, creating it once
// (under a lock, so two nodes starting together agree on one).
func (l *localIssuer) authority(ctx context.Context) (*x509.Certificate, crypto.Signer, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ca != nil {
		return l.ca, l.key, l.caPEM, nil
	}
	if err := l.load(ctx); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return l.ca, l.key, l.caPEM, err
	}
	if err := l.storage.Lock(ctx, localCALock); err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err := l.storage.Unlock(ctx, localCALock); err != nil {
			// The CA is stored either way; the lock expires on its own.
			l.log.Warn("releasing the local CA lock failed", "err", err)
		}
	}()
	if err := l.load(ctx); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return l.ca, l.key, l.caPEM, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Roost local development CA", Organization: []string{"Roost"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := certmagic.PEMEncodePrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := l.storage.Store(ctx, localCAKeyKey, keyPEM); err != nil {
		return nil, nil, nil, err
	}
	if err := l.storage.Store(ctx, LocalCACertKey, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return nil, nil, nil, err
	}
	err = l.load(ctx)
	return l.ca, l.key, l.caPEM, err
}

func (l *localIssuer) load(ctx context.Context) error {
	certPEM, err := l.storage.Load(ctx, LocalCACertKey)
	if err != nil {
		return err
	}
	keyPEM, err := l.storage.Load(ctx, localCAKeyKey)
	if err != nil {
		return err
	}
	ca, err := parseLeaf(certPEM)
	if err != nil {
		return fmt.Errorf("local CA certificate: %w", err)
	}
	priv, err := certmagic.PEMDecodePrivateKey(keyPEM)
	if err != nil {
		return fmt.Errorf("local CA key: %w", err)
	}
	l.ca, l.key, l.caPEM = ca, priv, certPEM
	return nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}
