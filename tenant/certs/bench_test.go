package certs_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

const benchDomains = 10000

// BenchmarkTLS measures one node with 10,000 tenant domains whose
// certificates are in storage (PostgreSQL):
//
//	go test -run XXX -bench TLS -benchtime 3s ./tenant/certs/
//
// HandshakeCached: full TLS handshakes (no resumption) per second for
// certificates in the node's memory, over loopback, client on the same
// cores. FirstHandshake: a cold node's first handshake per name (decision
// lookup plus certificate load from storage). DecisionWarm: the
// DecisionFunc's cost per call with a warm cache (and no database query).
func BenchmarkTLS(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b)
	names := seedDomains(b, w, benchDomains)
	store := certs.NewStorage(w.kv)

	// The warm node: every certificate loaded once.
	warm := benchNode(b, w, store)
	start := time.Now()
	handshakeAll(b, warm.addr, names, 8)
	b.Logf("warm-up: %d first handshakes (decision lookup + load from storage) in %v", len(names), time.Since(start).Round(time.Millisecond))

	b.Run("HandshakeCached", func(b *testing.B) {
		var i atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				name := names[int(i.Add(1))%len(names)]
				if err := handshakeOnce(warm.addr, name); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})

	b.Run("FirstHandshake", func(b *testing.B) {
		n := min(b.N, len(names))
		cold := benchNode(b, w, store) // empty certificate and host caches
		b.ResetTimer()
		handshakeAll(b, cold.addr, names[:n], 8)
		b.StopTimer()
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "names/s")
		if st := cold.d.Stats(); st.Lookups > uint64(n) {
			b.Fatalf("%d lookups for %d names", st.Lookups, n)
		}
	})

	b.Run("DecisionWarm", func(b *testing.B) {
		before := warm.d.Stats().Lookups
		client := netip.MustParseAddr("192.0.2.7")
		var i atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := warm.d.DecideFor(ctx, names[int(i.Add(1))%len(names)], client); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		if after := warm.d.Stats().Lookups; after != before {
			b.Fatalf("warm decisions made %d database lookups", after-before)
		}
	})
}

type benchServer struct {
	d    *certs.Decider
	addr string
}

// benchNode runs a Manager in self-signed mode (the issuer of the seeded
// certificates) behind a handshake-only TLS listener.
func benchNode(b testing.TB, w *world, store *certs.Storage) *benchServer {
	d := certs.NewDeciderWithLimits(tenant.NewHostCache(w.store, time.Hour, 100000), certs.Limits{Concurrent: 64, Queue: 1e6, ClientRate: 1e6, ClientBurst: 1e6})
	m, err := certs.New(certs.Options{Mode: certs.SelfSigned, Storage: store, Decider: d, Log: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	cfg := m.TLSConfig()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc := tls.Server(c, cfg)
				tc.SetDeadline(time.Now().Add(time.Minute))
				tc.Handshake()
				tc.Close()
			}()
		}
	}()
	return &benchServer{d: d, addr: ln.Addr().String()}
}

func handshakeOnce(addr, name string) error {
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return c.Close()
}

func handshakeAll(b testing.TB, addr string, names []string, workers int) {
	ch := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range ch {
				if err := handshakeOnce(addr, name); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, n := range names {
		ch <- n
	}
	close(ch)
	wg.Wait()
}

// seedDomains creates n verified domains of active tenants, each with a
// certificate from the instance's local CA in storage, in bulk.
func seedDomains(b testing.TB, w *world, n int) []string {
	ctx := context.Background()
	w.exec(b, `insert into tenants (name) select 'bench ' || i from generate_series(1, $1) i`, n)
	w.exec(b, `insert into domains (domain, tenant_id, verification_token, verified_at)
		select 'd' || t.id || '.bench.test', t.id, 'tok', now() from tenants t where t.name like 'bench %'`)
	rows, err := w.db.Query(ctx, `select domain from domains where domain like '%.bench.test' order by domain`)
	if err != nil {
		b.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(names) != n {
		b.Fatalf("%d names, %v", len(names), err)
	}

	// The local CA, made by issuing one certificate the usual way.
	first := benchNode(b, w, certs.NewStorage(w.kv))
	handshakeAll(b, first.addr, names[:1], 1)
	caPEM, err := w.kv.Get(ctx, certs.LocalCACertKey)
	if err != nil {
		b.Fatal(err)
	}
	keyPEM, err := w.kv.Get(ctx, "roost/local-ca/ca.key")
	if err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	caKey, err := certmagic.PEMDecodePrivateKey(keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var kvRows [][]any
	for i, name := range names[1:] {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1000)), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}, ca, &key.PublicKey, caKey)
		if err != nil {
			b.Fatal(err)
		}
		keyOut, _ := certmagic.PEMEncodePrivateKey(key)
		chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caPEM...)
		kvRows = append(kvRows,
			[]any{certmagic.StorageKeys.SiteCert(certs.LocalIssuerKey, name), chain},
			[]any{certmagic.StorageKeys.SitePrivateKey(certs.LocalIssuerKey, name), keyOut},
			[]any{certmagic.StorageKeys.SiteMeta(certs.LocalIssuerKey, name), []byte(fmt.Sprintf(`{"sans":[%q]}`, name))})
	}
	if _, err := w.db.CopyFrom(ctx, pgx.Identifier{"cert_storage"}, []string{"key", "value"}, pgx.CopyFromRows(kvRows)); err != nil {
		b.Fatal(err)
	}
	return names
}
