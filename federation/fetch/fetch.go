// Package fetch is the one HTTP client for every outbound request Roost
// makes: actors, keys, objects, collections, WebFinger and NodeInfo lookups,
// and inbox deliveries. Funnelling them through one client is what makes the
// SSRF rules hold everywhere: addresses are checked in the dialer after DNS
// resolution, redirects are re-checked and capped, and every request has a
// total deadline and a body cap.
package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"time"

	"github.com/roost-social/roost/federation/signature"
)

// DefaultUserAgent names Roost to peers; GoToSocial answers 418 without one.
const DefaultUserAgent = "Roost/0.1.0 (+https://github.com/roost-social/roost)"

// Defaults applied by New to zero fields of Config.
const (
	DefaultMaxBody         = 1 << 20
	DefaultTimeout         = 10 * time.Second
	DefaultMaxRedirects    = 3
	DefaultMaxConnsPerHost = 8
	// DefaultMaxIdleConns bounds idle keep-alive connections over all
	// hosts. A post fans out to every follower's server, and the next post
	// goes to the same servers: with too few kept, each delivery put back
	// evicts (closes) another host's connection under the pool's lock, and
	// the next fan-out dials and handshakes again (issue 21).
	DefaultMaxIdleConns = 1024
)

// maxHeaderBytes bounds response headers, which are read before any body cap.
const maxHeaderBytes = 64 << 10

// Config configures a Client.
type Config struct {
	// Resolve maps hostnames to addresses for tests and local development
	// (ROOST_FEDERATION_RESOLVE, see ParseResolve): "https://ip:port" or
	// "http://ip:port" fix the scheme used for that host; a bare "ip:port"
	// (the older syntax) lets URLs of either scheme through and sends
	// discovery over plain http, as that syntax was documented. Only these
	// hosts may be reached over plain http, and only these may resolve to
	// loopback/private addresses.
	Resolve map[string]string
	// UserAgent defaults to DefaultUserAgent.
	UserAgent string
	// MaxBody bounds a response body (after decompression); bigger bodies
	// are an error. Defaults to 1 MiB.
	MaxBody int64
	// Timeout bounds a whole call, redirects and body reading included, so a
	// peer trickling bytes cannot hold a worker. Defaults to 10s.
	Timeout time.Duration
	// MaxRedirects bounds the redirects one GET follows. Defaults to 3;
	// negative means none.
	MaxRedirects int
	// MaxConnsPerHost caps connections (and idle keep-alive connections) per
	// host, so one slow peer cannot take every socket. Defaults to 8.
	MaxConnsPerHost int
	// RootCAs replaces the system roots; nil means the system roots. Tests
	// and private deployments use it to trust their own certificates.
	RootCAs *x509.CertPool
}

// Client makes outbound requests under the rules of this package. It is safe
// for concurrent use and should be shared: it holds the keep-alive pool.
type Client struct {
	resolve map[string]string
	// schemes holds the scheme an override fixes for its host; "" for the
	// older bare ip:port syntax.
	schemes      map[string]string
	userAgent    string
	maxBody      int64
	timeout      time.Duration
	maxRedirects int
	http         *http.Client
	transport    *http.Transport
	// knocks remembers which signature scheme each host accepted, for
	// Knocking signers.
	knocks signature.Schemes
}

// New returns a Client for cfg, filling defaults.
func New(cfg Config) *Client {
	c := &Client{
		resolve:      make(map[string]string, len(cfg.Resolve)),
		schemes:      make(map[string]string, len(cfg.Resolve)),
		userAgent:    cfg.UserAgent,
		maxBody:      cfg.MaxBody,
		timeout:      cfg.Timeout,
		maxRedirects: cfg.MaxRedirects,
	}
	for host, addr := range cfg.Resolve {
		host = strings.ToLower(host)
		scheme, rest, explicit := strings.Cut(addr, "://")
		if explicit {
			c.schemes[host], addr = strings.ToLower(scheme), rest
		}
		c.resolve[host] = addr
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxRedirects == 0 {
		c.maxRedirects = DefaultMaxRedirects
	} else if c.maxRedirects < 0 {
		c.maxRedirects = 0
	}
	perHost := cfg.MaxConnsPerHost
	if perHost <= 0 {
		perHost = DefaultMaxConnsPerHost
	}
	c.transport = c.newTransport(perHost, cfg.RootCAs)
	c.http = &http.Client{
		Transport: c.transport,
		// Redirects are followed by hand (get.go) so that every hop is
		// re-checked and re-signed, and never followed for POST.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c
}

func (c *Client) newTransport(perHost int, roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		// No proxy: a proxy from the environment would be dialled instead of
		// the peer and so escape the address check.
		Proxy:                  nil,
		DialContext:            c.dial,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		MaxIdleConns:           DefaultMaxIdleConns,
		MaxIdleConnsPerHost:    perHost,
		MaxConnsPerHost:        perHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    min(c.timeout, 10*time.Second),
		ResponseHeaderTimeout:  c.timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
}

// CloseIdleConnections closes idle keep-alive connections, for shutdown.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }
