package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
)

// InboxOptions are the flags of `roost bench inbox`.
type InboxOptions struct {
	Requests    int              // inbox POSTs
	Concurrency int              // requests in flight
	Scheme      signature.Scheme // of the deliveries (Scheme checks the flags)
	Key         string           // sender key: rsa or ed25519
	CPUProfile  string           // a CPU profile of the timed window, when set
}

// Inbox is what the inbox benchmark delivers to: the API serving the
// shared inbox (its inbox queueing through a batcher, as a node's does)
// and the cache of remote actors, where the sender's key is put.
type Inbox struct {
	Env
	Server Server
	Actors federation.RemoteActorStore
}

// Run measures verified inbox POSTs accepted per second: distinct
// activities pre-signed by a remote actor whose key is cached, sent over
// keep-alive connections to a shared inbox; each is signature-checked,
// Digest-checked and durably queued before its 202.
func (b Inbox) Run(ctx context.Context, o InboxOptions) (map[string]any, error) {
	if _, err := b.Tenants.CreateTenant(ctx, "Bench", "bench.test", ""); err != nil {
		return nil, err
	}
	key, err := cacheSender(ctx, b.Actors, o.Key)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() { _ = b.Server.Listener(ln) }() // ends with Shutdown
	defer func() { _ = b.Server.Shutdown() }()

	reqs, err := presign(o.Requests, key, o.Scheme, ln.Addr().String())
	if err != nil {
		return nil, err
	}
	// Half the floor before the run and half after, as bench delivery.
	parsed, bodies, err := received(reqs)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("bench inbox: a %T cannot sign", key)
	}
	pub := signer.Public()
	half := len(parsed) / 2
	floorBefore, err := verifyFloor(parsed[:half], bodies[:half], pub)
	if err != nil {
		return nil, err
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	lat, errors, wall := fire(ln.Addr().String(), reqs, o.Concurrency)
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	floorAfter, err := verifyFloor(parsed[half:], bodies[half:], pub)
	if err != nil {
		return nil, err
	}
	floor := floorBefore + floorAfter
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var queued int
	if err := b.DB.QueryRow(ctx, `select count(*) from inbox_items`).Scan(&queued); err != nil {
		return nil, fmt.Errorf("count inbox items: %w", err)
	}
	return map[string]any{
		"bench": "inbox", "scheme": o.Scheme.String(), "key": o.Key, "requests": o.Requests, "per_second": round3(float64(o.Requests-errors) / wall.Seconds()),
		"p99_ms": round3(float64(lat[len(lat)*99/100].Microseconds()) / 1000), "errors": errors, "queued": queued,
		"seconds": round3(wall.Seconds()), "limit_seconds": round3(floor.Seconds()), "ratio": ratio(wall, floor),
		"loadavg": loadavg(),
	}, nil
}

// received reads the requests back from the bytes sent, as the inbox
// reads them, for its floor: verifying each, outside the timed run.
func received(raw [][]byte) ([]*http.Request, [][]byte, error) {
	reqs, bodies := make([]*http.Request, len(raw)), make([][]byte, len(raw))
	for i, b := range raw {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return nil, nil, err
		}
		if bodies[i], err = io.ReadAll(r.Body); err != nil {
			return nil, nil, err
		}
		reqs[i] = r
	}
	return reqs, bodies, nil
}

// cacheSender caches a remote actor with a fresh RSA-2048 or Ed25519
// key, as after its first delivery, and returns the private key.
func cacheSender(ctx context.Context, actors federation.RemoteActorStore, keyType string) (crypto.PrivateKey, error) {
	kp, err := federation.GenerateKeyPair()
	if keyType == "ed25519" {
		kp, err = ed25519Pair()
	}
	if err != nil {
		return nil, err
	}
	_, err = actors.UpsertRemoteActor(ctx, &federation.Account{Domain: "s.test", Username: "sender", PublicKeyPEM: kp.PublicPEM,
		Remote: &federation.RemoteInfo{URI: senderActor, KeyID: senderActor + "#main-key", Inbox: senderActor + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		return nil, err
	}
	return signature.ParsePrivateKeyPEM(kp.PrivatePEM)
}

const senderActor = "http://s.test/users/sender"

// Scheme checks the -scheme and -key flags of `roost bench inbox`.
func Scheme(name, key string) (signature.Scheme, error) {
	if key != "rsa" && key != "ed25519" {
		return 0, fmt.Errorf("bench inbox: -key must be rsa or ed25519, not %q", key)
	}
	switch name {
	case "cavage":
		return signature.Cavage, nil
	case "rfc9421":
		return signature.RFC9421, nil
	}
	return 0, fmt.Errorf("bench inbox: -scheme must be cavage or rfc9421, not %q", name)
}

// presign signs n distinct Create activities in scheme on every core
// (signing is the sender's cost, not ours: it stays outside the timed
// window) and renders each as the HTTP/1.1 request bytes net/http would
// send.
func presign(n int, key crypto.PrivateKey, scheme signature.Scheme, host string) ([][]byte, error) {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for part := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += 2 {
				id := fmt.Sprintf("%s/statuses/%d", senderActor, i)
				body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/activity","type":"Create","actor":"%s","to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":"%s","type":"Note","attributedTo":"%s","content":"<p>post %d</p>","published":"2026-11-27T10:00:00Z","to":["https://www.w3.org/ns/activitystreams#Public"]}}`, id, senderActor, id, senderActor, i))
				r, _ := http.NewRequest("POST", "http://"+host+"/inbox", bytes.NewReader(body))
				r.Host = "bench.test"
				r.Header.Set("Content-Type", "application/activity+json")
				if err := signature.SignWith(scheme, r, body, senderActor+"#main-key", key, time.Now()); err != nil {
					firstErr.Store(err)
					return
				}
				var buf bytes.Buffer
				if err := r.Write(&buf); err != nil {
					firstErr.Store(err)
					return
				}
				out[i] = buf.Bytes()
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return nil, err
	}
	return out, nil
}

// fire sends every request with conc workers, each over its own keep-alive
// connection to addr (dialled on its first request, redialled after an
// error or a Connection: close), and returns each latency, the number of
// non-202 answers and the wall time. The requests are pre-rendered bytes
// and only the status line and framing of each answer are parsed: the
// generator shares the machine with the server, so it must stay cheap.
func fire(addr string, reqs [][]byte, conc int) ([]time.Duration, int, time.Duration) {
	lat := make([]time.Duration, len(reqs))
	var next, errors atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c inboxConn
			defer c.close()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(reqs) {
					return
				}
				t := time.Now()
				status, err := c.roundTrip(addr, reqs[i])
				lat[i] = time.Since(t)
				if err != nil || status != http.StatusAccepted {
					errors.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return lat, int(errors.Load()), time.Since(start)
}

// inboxConn is one keep-alive HTTP/1.1 client connection.
type inboxConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func (c *inboxConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// roundTrip writes req and reads one response, returning its status.
func (c *inboxConn) roundTrip(addr string, req []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 4096)
		} else {
			c.r.Reset(conn)
		}
	}
	status, keep, err := c.exchange(req)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *inboxConn) exchange(req []byte) (status int, keep bool, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 202 Accepted\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = !bytes.EqualFold(value, []byte("identity"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		_, err = io.Copy(io.Discard, httputil.NewChunkedReader(c.r))
		if err == nil {
			// Trailers end with an empty line.
			for {
				line, err := c.r.ReadSlice('\n')
				if err != nil {
					return 0, false, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					break
				}
			}
		}
	case length >= 0:
		_, err = c.r.Discard(length)
	default:
		_, err = io.Copy(io.Discard, c.r)
		keep = false
	}
	if err != nil {
		return 0, false, err
	}
	return status, keep, nil
}

// ed25519Pair is a fresh Ed25519 key pair as PKIX/PKCS#8 PEM, the form
// actors publish it in.
func ed25519Pair() (federation.KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return federation.KeyPair{}, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return federation.KeyPair{}, err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return federation.KeyPair{}, err
	}
	return federation.KeyPair{
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})),
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
	}, nil
}
