// Package config reads Roost's configuration from ROOST_* environment
// variables. Every variable is listed in Vars, which is also the source of
// the README's configuration table, so the two cannot drift apart.
package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/ratelimit"
)

// Config is the validated configuration of one Roost process.
type Config struct {
	DatabaseURL    string
	RedisURL       string
	RedisPrefix    string
	HTTPAddr       string
	MetricsAddr    string
	PprofAddr      string // ROOST_PPROF_ADDR: net/http/pprof, loopback only
	URLScheme      string
	PublicPort     int
	TrustedProxies []netip.Prefix
	// SignInPerIP and SignInPerLogin throttle password attempts on every
	// sign-in form, SignInCodes one-time codes per login; SignInSlots
	// bounds the password checks a web node runs at once (0: auto).
	SignInPerIP, SignInPerLogin, SignInCodes ratelimit.Limit
	SignInSlots                              int

	LogLevel       string
	LogFormat      string
	DomainCacheTTL time.Duration
	DomainCacheMax int
	ShutdownGrace  time.Duration
	DevDomain      string
	DevDir         string

	// MaxInflight is ROOST_MAX_INFLIGHT: 0 means auto (four requests per
	// PostgreSQL pool connection), -1 off. DBAcquireTimeout bounds the
	// wait for a pooled connection.
	MaxInflight      int
	DBAcquireTimeout time.Duration
	// DBConnectTimeout bounds one connection attempt to PostgreSQL.
	DBConnectTimeout time.Duration
	// StreamingMax, StreamingMaxPerIP and StreamingMaxPerToken bound a
	// web node's streaming connections (api.StreamLimits); 0: no bound.
	StreamingMax         int
	StreamingMaxPerIP    int
	StreamingMaxPerToken int
	// HomePullFollowers is ROOST_HOME_PULL_FOLLOWERS: the local followers
	// past which an author's posts are read by their followers' home
	// timelines instead of filed in them (migration 060); 0: never.
	HomePullFollowers int

	// TLS is ROOST_TLS: off, acme or self-signed (see tenant/certs); the
	// fields below it apply when it is not off.
	TLS              string
	HTTPSAddr        string
	HTTPRedirectAddr string
	ACMECA           string
	ACMEEmail        string
	ACMECARoot       string
	ACMEChallenges   []string
	// ACMEOrderLimit is the instance-wide budget of new ACME orders per 3
	// hours (tenant/certs.OrderBudget).
	ACMEOrderLimit int
	// TLSCacheMiB is each web node's memory budget for certificates
	// (tenant/certs.CacheCapacityFor).
	TLSCacheMiB int
	// DNS01 is the RFC 2136 server, zone and TSIG key that obtain the
	// wildcard certificate of BaseDomain (Server empty: none).
	DNS01 DNS01
	// FederationResolve is the raw ROOST_FEDERATION_RESOLVE; parsed by
	// federation/fetch, which owns its rules.
	FederationResolve string
	// AuthorizedFetch requires signed GETs for ActivityPub actors, posts
	// and collections (Mastodon's secure mode); tenants may override it.
	AuthorizedFetch bool
	// DeliveryClaimIdle and DeliverySweepEvery tune the delivery workers
	// (delivery.Worker's ClaimIdle and SweepEvery).
	DeliveryClaimIdle  time.Duration
	DeliverySweepEvery time.Duration
	// MediaDir is where uploads are kept, unless MediaS3Endpoint names an
	// S3-compatible service (with its bucket, keys and region).
	MediaDir         string
	MediaS3Endpoint  string
	MediaS3Bucket    string
	MediaS3AccessKey string
	MediaS3SecretKey string
	MediaS3Region    string
	// TranslateURL is a LibreTranslate-compatible API that translates
	// posts (empty: translation off); TranslateKey its API key.
	TranslateURL, TranslateKey string
	// PortalHost serves the signup portal (empty: no portal); BaseDomain
	// offers subdomains there; Signups is open, invite or approval.
	PortalHost string
	BaseDomain string
	Signups    string
	// OperatorHost serves the operator dashboard (empty: none).
	OperatorHost string
	// PublicIPv4, PublicIPv6 and PublicHostname are what tenants' DNS
	// records must point at; DNSServer ("ip:port") answers the domain
	// checks instead of the system resolver.
	PublicIPv4     netip.Addr
	PublicIPv6     netip.Addr
	PublicHostname string
	DNSServer      string
	// StripeWebhookSecret verifies POST /billing/webhooks/stripe on the
	// portal host (empty: no webhook); StripeSecretKey re-fetches
	// subscriptions; BillingGrace is how long a past-due tenant stays
	// served before suspension.
	StripeWebhookSecret string
	StripeSecretKey     string
	StripeAPIURL        string
	BillingGrace        time.Duration
	// BooksCurrency is the open books' currency (ROOST_BOOKS_CURRENCY).
	BooksCurrency string
}

// Var documents one environment variable.
type Var struct {
	Name    string
	Default string
	Help    string
	set     func(c *Config, v string) error
}

// Vars lists every variable Roost reads, in README order.
var Vars = []Var{
	{"ROOST_DATABASE_URL", "", "PostgreSQL connection URL. Required for serve/work/migrate; `roost dev` provisions a private cluster when unset. Roost's connections run with `jit=off` (LLVM compilation costs short reads far more than it saves) unless the URL sets `jit`.", func(c *Config, v string) error {
		return setURL(&c.DatabaseURL, v, "postgres", "postgresql")
	}},
	{"ROOST_REDIS_URL", "", "Redis URL (`redis://host:port/db`). Required for serve/work; `roost dev` starts a private redis-server when unset.", func(c *Config, v string) error {
		return setURL(&c.RedisURL, v, "redis", "rediss", "unix")
	}},
	{"ROOST_REDIS_PREFIX", "roost:", "Prefix of every Redis key and channel, so several instances can share one Redis.", func(c *Config, v string) error {
		c.RedisPrefix = v
		return nil
	}},
	{"ROOST_HTTP_ADDR", ":8080", "Listen address of the web node (plain HTTP; with ROOST_TLS=off).", func(c *Config, v string) error {
		return setAddr(&c.HTTPAddr, v)
	}},
	{"ROOST_METRICS_ADDR", "", "Optional separate plain-HTTP listen address for /metrics, /healthz and /readyz (for scrapers and probes, whatever ROOST_TLS is); `roost work` serves them here too. When empty /metrics is served on the web node's main listener for any Host and `roost work` has no listener.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		return setAddr(&c.MetricsAddr, v)
	}},
	{"ROOST_PPROF_ADDR", "", "Optional loopback-only listen address (`127.0.0.1:6060` or `[::1]:6060`) for Go's profiles (`/debug/pprof/`: CPU, heap, goroutines, block and mutex, the last two sampled while it is set) of `roost serve` and `roost work`, for finding where time goes on a live node (e.g. `go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=10`). Off by default; any other address is refused, since profiles show the process's insides.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		return setLoopbackAddr(&c.PprofAddr, v)
	}},
	{"ROOST_TLS", "off", "`off`: plain HTTP on ROOST_HTTP_ADDR (TLS ends at a proxy or load balancer). `acme`: HTTPS on ROOST_HTTPS_ADDR with certificates obtained on demand for tenants' verified domains (Let's Encrypt by default; see \"Serving your tenants' domains over HTTPS\"). `self-signed`: the same with certificates from a local CA kept in the database, for development.", func(c *Config, v string) error {
		if v != "off" && v != "acme" && v != "self-signed" {
			return fmt.Errorf("must be off, acme or self-signed")
		}
		c.TLS = v
		return nil
	}},
	{"ROOST_HTTPS_ADDR", ":443", "With ROOST_TLS on: HTTPS listen address of the web node (also answers ACME TLS-ALPN-01 challenges).", func(c *Config, v string) error {
		return setAddr(&c.HTTPSAddr, v)
	}},
	{"ROOST_HTTP_REDIRECT_ADDR", ":80", "With ROOST_TLS on: plain-HTTP listen address that answers ACME HTTP-01 challenges and redirects everything else to HTTPS (ROOST_HTTP_ADDR is not used).", func(c *Config, v string) error {
		return setAddr(&c.HTTPRedirectAddr, v)
	}},
	{"ROOST_ACME_CA", "production", "ACME directory: `production` (Let's Encrypt), `staging` (Let's Encrypt's staging CA: try it first) or the https URL of another CA's directory.", func(c *Config, v string) error {
		if v != "production" && v != "staging" {
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
				return fmt.Errorf("must be production, staging or an https:// directory URL")
			}
		}
		c.ACMECA = v
		return nil
	}},
	{"ROOST_ACME_EMAIL", "", "Contact address given to the ACME CA (expiry and policy notices). Optional.", func(c *Config, v string) error {
		if v != "" && (!strings.Contains(v, "@") || strings.ContainsAny(v, " \t\r\n")) {
			return fmt.Errorf("must be an email address")
		}
		c.ACMEEmail = v
		return nil
	}},
	{"ROOST_ACME_CA_ROOT", "", "PEM file of root certificates to trust for the ACME CA's own API (a private or test CA such as Pebble). Empty: the system roots.", func(c *Config, v string) error {
		c.ACMECARoot = v
		return nil
	}},
	{"ROOST_ACME_CHALLENGES", "http-01,tls-alpn-01", "Challenges this node may choose when it obtains a certificate (`http-01` needs port 80, `tls-alpn-01` port 443). Every node answers both kinds whichever node asked.", func(c *Config, v string) error {
		c.ACMEChallenges = nil
		for _, f := range strings.Split(v, ",") {
			switch f = strings.TrimSpace(f); f {
			case "http-01", "tls-alpn-01":
				c.ACMEChallenges = append(c.ACMEChallenges, f)
			case "":
			default:
				return fmt.Errorf("must list http-01 and/or tls-alpn-01")
			}
		}
		if len(c.ACMEChallenges) == 0 {
			return fmt.Errorf("must list http-01 and/or tls-alpn-01")
		}
		return nil
	}},
	{"ROOST_ACME_ORDER_LIMIT", "100", "New ACME orders (first certificates and renewals together) the whole instance may start per 3 hours, counted in the database across all nodes; an order over it is refused and retried later (renewals start a third of a lifetime before expiry, so there is time). The default keeps a third of Let's Encrypt's 300 new orders per account per 3 hours: see \"Certificate authority limits\" in docs/deploying.md.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("must be a number of orders from 1 to 10000")
		}
		c.ACMEOrderLimit = n
		return nil
	}},
	{"ROOST_TLS_CACHE_MB", "128", "With ROOST_TLS on: memory (MiB) each web node may spend on certificates it keeps in memory, reckoned at 4 KiB per certificate (128: 32,768 certificates). A certificate not in memory is loaded from the database on its next handshake (three indexed reads, at most 8 at once per node); see \"Certificates at 100,000 domains\" in docs/sizing.md.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 || n > 65536 {
			return fmt.Errorf("must be a number of MiB from 4 to 65536")
		}
		c.TLSCacheMiB = n
		return nil
	}},
	{"ROOST_DNS01_RFC2136_SERVER", "", "host:port of the operator's authoritative DNS server that accepts RFC 2136 dynamic updates for the zone of ROOST_BASE_DOMAIN. Set (with ROOST_TLS=acme and ROOST_BASE_DOMAIN): one certificate for `*.ROOST_BASE_DOMAIN` and one for the base itself are obtained by DNS-01 and serve every subdomain tenant, which then costs no ACME order; own domains stay on demand. The same server is asked for the zone's SOA and the record's propagation. See \"Wildcard certificate with DNS-01 (RFC 2136)\" in docs/deploying.md.", func(c *Config, v string) error {
		if v == "" {
			c.DNS01.Server = ""
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			v = net.JoinHostPort(v, "53")
		}
		return setAddr(&c.DNS01.Server, v)
	}},
	{"ROOST_DNS01_RFC2136_ZONE", "", "The zone the updates name (`roost.example`). Empty: the zone whose SOA the server returns for `_acme-challenge.ROOST_BASE_DOMAIN`. When set, an update for any other zone is refused.", func(c *Config, v string) error {
		return setHostname(&c.DNS01.Zone, v)
	}},
	{"ROOST_DNS01_RFC2136_TSIG_KEY", "", "Name of the TSIG key the DNS server accepts updates with (`roost-acme`).", func(c *Config, v string) error {
		c.DNS01.KeyName = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
		return nil
	}},
	{"ROOST_DNS01_RFC2136_TSIG_SECRET", "", "The TSIG key's secret, base64, as `tsig-keygen` or `keymgr -t` prints it. Keep it out of logs and process lists (an env file readable by Roost only).", func(c *Config, v string) error {
		if v != "" {
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return fmt.Errorf("must be base64")
			}
		}
		c.DNS01.Secret = v
		return nil
	}},
	{"ROOST_DNS01_RFC2136_TSIG_ALGORITHM", "hmac-sha256", "The TSIG key's algorithm: `hmac-sha256`, `hmac-sha384`, `hmac-sha512`, `hmac-sha224` or `hmac-sha1`.", func(c *Config, v string) error {
		switch v {
		case "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1":
			c.DNS01.Algorithm = v
			return nil
		}
		return fmt.Errorf("must be hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224 or hmac-sha1")
	}},
	{"ROOST_URL_SCHEME", "https", "Scheme of the URLs Roost issues (actor ids, links): `https` in production, `http` only for local development.", func(c *Config, v string) error {
		if v != "https" && v != "http" {
			return fmt.Errorf("must be https or http")
		}
		c.URLScheme = v
		return nil
	}},
	{"ROOST_PUBLIC_PORT", "0", "Port written into issued URLs (0 = the scheme's default). `roost dev` sets it to the HTTP port.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("must be a port number")
		}
		c.PublicPort = n
		return nil
	}},
	{"ROOST_TRUSTED_PROXIES", "", "Comma-separated addresses or CIDRs whose X-Forwarded-For/-Proto/-Host headers are believed. Empty: none.", func(c *Config, v string) error {
		ps, err := parsePrefixes(v)
		c.TrustedProxies = ps
		return err
	}},
	{"ROOST_SIGNIN_PER_IP", "30/5m", "Password attempts one client address (an IPv6 /64) may make, counted over every sign-in form (client sign-in page, /admin on every host, portal start and sign-in) and every node (kept in Redis): `attempts/period`, a burst refilled evenly over the period. Past it: 429 with Retry-After, before any password is checked. Behind a proxy, set ROOST_TRUSTED_PROXIES so the client's address is used.", func(c *Config, v string) error {
		return setLimit(&c.SignInPerIP, v)
	}},
	{"ROOST_SIGNIN_PER_LOGIN", "10/1h", "Password attempts per login (email), from any address, on any form and node: `attempts/period`. A right password forgives the login's earlier typos.", func(c *Config, v string) error {
		return setLimit(&c.SignInPerLogin, v)
	}},
	{"ROOST_SIGNIN_CODES_PER_LOGIN", "5/1h", "Two-factor code attempts per login at /admin/login/code (six digits are guessed far sooner than a password): `attempts/period`.", func(c *Config, v string) error {
		return setLimit(&c.SignInCodes, v)
	}},
	{"ROOST_SIGNIN_CONCURRENCY", "auto", "Most password checks (bcrypt, about 50 ms of a core each) a web node runs at once; more wait up to 3 s, then get 503 with Retry-After. `auto`: half the cores, at least one.", func(c *Config, v string) error {
		if v == "auto" {
			c.SignInSlots = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("must be auto or a number from 1 to 1024")
		}
		c.SignInSlots = n
		return nil
	}},
	{"ROOST_LOG_LEVEL", "info", "debug, info, warn or error.", func(c *Config, v string) error {
		switch v {
		case "debug", "info", "warn", "error":
			c.LogLevel = v
			return nil
		}
		return fmt.Errorf("must be debug, info, warn or error")
	}},
	{"ROOST_LOG_FORMAT", "text", "text or json.", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("must be text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{"ROOST_DOMAIN_CACHE_TTL", "5m", "How long a node trusts its cached Host → tenant answer (changes are also pushed over Redis).", func(c *Config, v string) error {
		return setDuration(&c.DomainCacheTTL, v)
	}},
	{"ROOST_DOMAIN_CACHE_SIZE", "100000", "Most Host → tenant answers (positive and negative) a node keeps.", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("must be a positive integer")
		}
		c.DomainCacheMax = n
		return nil
	}},
	{"ROOST_SHUTDOWN_GRACE", "20s", "How long a stopping node waits for in-flight requests.", func(c *Config, v string) error {
		return setDuration(&c.ShutdownGrace, v)
	}},
	{"ROOST_MAX_INFLIGHT", "auto", "Most requests a web node works on at once; past it requests are answered 503 with `Retry-After: 1` at once instead of queueing (anonymous GETs already at three quarters of it; probes and /metrics are never refused; streaming handshakes count, open streaming connections are bounded by ROOST_STREAMING_MAX). `auto`: four per PostgreSQL pool connection (80 with the default pool of 20); `off`: no bound.", func(c *Config, v string) error {
		switch v {
		case "auto":
			c.MaxInflight = 0
		case "off":
			c.MaxInflight = -1
		default:
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("must be auto, off or a positive integer")
			}
			c.MaxInflight = n
		}
		return nil
	}},
	{"ROOST_DB_ACQUIRE_TIMEOUT", "5s", "How long a request waits for a pooled PostgreSQL connection before it is answered 503 with Retry-After.", func(c *Config, v string) error {
		return setDuration(&c.DBAcquireTimeout, v)
	}},
	{"ROOST_DB_CONNECT_TIMEOUT", "2s", "How long one connection attempt to PostgreSQL may take (unless the URL sets connect_timeout); a server that does not answer in time is treated as down: requests are answered 503 with Retry-After until a probe connects.", func(c *Config, v string) error {
		return setDuration(&c.DBConnectTimeout, v)
	}},
	{"ROOST_STREAMING_MAX", "10000", "Most streaming connections (server-sent events and WebSockets) a web node keeps open at once; past it a new one is answered 503 with Retry-After. Each holds a file descriptor, two goroutines and about 30 KB. 0: no bound.", func(c *Config, v string) error {
		return setCount(&c.StreamingMax, v)
	}},
	{"ROOST_STREAMING_MAX_PER_IP", "100", "Most streaming connections one client address (an IPv6 /64) keeps open on a web node; past it 429 with Retry-After. Behind a proxy, set ROOST_TRUSTED_PROXIES so the client's address is used. 0: no bound.", func(c *Config, v string) error {
		return setCount(&c.StreamingMaxPerIP, v)
	}},
	{"ROOST_STREAMING_MAX_PER_TOKEN", "20", "Most streaming connections one access token keeps open on a web node (a tab or device each); past it 429 with Retry-After. 0: no bound.", func(c *Config, v string) error {
		return setCount(&c.StreamingMaxPerToken, v)
	}},
	{"ROOST_HOME_PULL_FOLLOWERS", "1000", "Local followers past which an author's posts are no longer filed in each follower's home feed: their followers' home timelines read them (a post then costs the same at any audience and reaches every follower at commit). The `roost work` fan-out job marks such an author when it first meets one of their posts; a mark is kept. Each such author a viewer follows adds one index read to their home page, so keep them few. Under 20 it acts as 20: a post reaches its first 20 followers in its own transaction, and only larger audiences meet the job. 0: every post is filed.", func(c *Config, v string) error {
		return setCount(&c.HomePullFollowers, v)
	}},
	{"ROOST_FEDERATION_RESOLVE", "", "Tests and local development only: `host=https://ip:port,host=http://ip:port,...` sends federation traffic for these hosts to these (loopback) addresses, over the scheme given; WebFinger and NodeInfo requests to the host use that scheme. The older `host=ip:port` means plain HTTP. Off by default; logged loudly when on.", func(c *Config, v string) error {
		for _, pair := range strings.Split(v, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			host, addr, ok := strings.Cut(pair, "=")
			addr = strings.TrimSpace(addr)
			if scheme, rest, found := strings.Cut(addr, "://"); found {
				if s := strings.ToLower(scheme); s != "https" && s != "http" {
					return fmt.Errorf("entry %q: the scheme must be https:// or http://", pair)
				}
				addr = rest
			}
			if _, _, err := net.SplitHostPort(addr); !ok || host == "" || err != nil {
				return fmt.Errorf("each entry must be host=https://ip:port or host=http://ip:port (host=ip:port means plain HTTP)")
			}
		}
		c.FederationResolve = v
		return nil
	}},
	{"ROOST_AUTHORIZED_FETCH", "false", "Authorized fetch (Mastodon's secure mode): `true` makes actor documents, posts and collections (outbox, followers, following, featured) answer only GETs signed by a server that is not suspended here (unsigned: 401; suspended: 403). The instance actor (`/actor`), WebFinger, host-meta, NodeInfo and the HTML pages for browsers stay public. The instance-wide default; each tenant may turn it on or off for itself (`roost tenant authorized-fetch`).", func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("must be true or false")
		}
		c.AuthorizedFetch = b
		return nil
	}},
	{"ROOST_DELIVERY_CLAIM_IDLE", "1m", "How long a delivery taken by a worker may stay unacknowledged before another worker takes it over (XAUTOCLAIM), e.g. after the first was killed. Keep it well above the 10 s a delivery attempt may take.", func(c *Config, v string) error {
		return setDuration(&c.DeliveryClaimIdle, v)
	}},
	{"ROOST_DELIVERY_SWEEP_EVERY", "5s", "How often workers re-dispatch due deliveries from PostgreSQL: retries, and deliveries whose Redis entry was lost.", func(c *Config, v string) error {
		return setDuration(&c.DeliverySweepEvery, v)
	}},
	{"ROOST_MEDIA_DIR", "./var/media", "Directory where uploaded media are kept (when no S3 endpoint is set).", func(c *Config, v string) error {
		c.MediaDir = v
		return nil
	}},
	{"ROOST_MEDIA_S3_ENDPOINT", "", "URL of an S3-compatible service (`https://s3.example.com`); when set, media are kept in ROOST_MEDIA_S3_BUCKET instead of ROOST_MEDIA_DIR.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return fmt.Errorf("must be an http(s) URL without a path")
		}
		c.MediaS3Endpoint = v
		return nil
	}},
	{"ROOST_MEDIA_S3_BUCKET", "", "S3 bucket for media (required with ROOST_MEDIA_S3_ENDPOINT).", func(c *Config, v string) error {
		c.MediaS3Bucket = v
		return nil
	}},
	{"ROOST_MEDIA_S3_ACCESS_KEY", "", "S3 access key id.", func(c *Config, v string) error {
		c.MediaS3AccessKey = v
		return nil
	}},
	{"ROOST_MEDIA_S3_SECRET_KEY", "", "S3 secret access key.", func(c *Config, v string) error {
		c.MediaS3SecretKey = v
		return nil
	}},
	{"ROOST_MEDIA_S3_REGION", "", "S3 region (empty: the service's default).", func(c *Config, v string) error {
		c.MediaS3Region = v
		return nil
	}},
	{"ROOST_TRANSLATE_URL", "", "Base URL of a LibreTranslate-compatible API (`https://translate.example`) that translates posts for apps (`POST /api/v1/statuses/:id/translate`). Called through the safe outbound client (10 s, 256 KB answers); a service on a private address must be listed in `ROOST_FEDERATION_RESOLVE`. Empty: translation off.", func(c *Config, v string) error {
		return setURL(&c.TranslateURL, v, "https", "http")
	}},
	{"ROOST_TRANSLATE_KEY", "", "API key sent to the translation service (`api_key`); empty: none.", func(c *Config, v string) error {
		c.TranslateKey = v
		return nil
	}},
	{"ROOST_PORTAL_HOST", "", "Host name of the signup portal (`portal.roost.example`), where newcomers create a site, claim a domain and prove it with DNS records. Empty: no portal.", func(c *Config, v string) error {
		return setHostname(&c.PortalHost, v)
	}},
	{"ROOST_OPERATOR_HOST", "", "Host name of the operator dashboard (`admin.roost.example`): instance numbers, tenants, reports and the audit log, for logins made operators with `roost operator grant`. Empty: no dashboard.", func(c *Config, v string) error {
		return setHostname(&c.OperatorHost, v)
	}},
	{"ROOST_BASE_DOMAIN", "", "Domain whose subdomains the portal offers, active at once (`roost.example` gives `alice.roost.example`; point a wildcard record at the instance). Empty: own domains only.", func(c *Config, v string) error {
		return setHostname(&c.BaseDomain, v)
	}},
	{"ROOST_SIGNUPS", "approval", "Portal signups: `open`, `invite` (a code from `roost tenant invite`) or `approval` (new sites wait for `roost tenant approve`).", func(c *Config, v string) error {
		if v != "open" && v != "invite" && v != "approval" {
			return fmt.Errorf("must be open, invite or approval")
		}
		c.Signups = v
		return nil
	}},
	{"ROOST_PUBLIC_IPV4", "", "The instance's public IPv4 address: the A record the portal asks a custom apex domain for.", func(c *Config, v string) error {
		return setIP(&c.PublicIPv4, v, true)
	}},
	{"ROOST_PUBLIC_IPV6", "", "The instance's public IPv6 address: the AAAA record the portal asks for.", func(c *Config, v string) error {
		return setIP(&c.PublicIPv6, v, false)
	}},
	{"ROOST_PUBLIC_HOSTNAME", "", "The instance's public host name: the CNAME target the portal asks a custom subdomain (`social.alice.example`) for.", func(c *Config, v string) error {
		return setHostname(&c.PublicHostname, v)
	}},
	{"ROOST_DNS_SERVER", "", "`ip:port` of the DNS server that answers the portal's domain checks; empty: the system resolver.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := netip.ParseAddrPort(v); err != nil {
			return fmt.Errorf("must be ip:port")
		}
		c.DNSServer = v
		return nil
	}},
	{"ROOST_STRIPE_WEBHOOK_SECRET", "", "Signing secret (`whsec_...`) of the Stripe webhook endpoint `https://PORTAL_HOST/billing/webhooks/stripe`. Empty: no Stripe webhook.", func(c *Config, v string) error {
		c.StripeWebhookSecret = v
		return nil
	}},
	{"ROOST_STRIPE_SECRET_KEY", "", "Stripe API key (`sk_...` or a restricted key that reads subscriptions): webhook events are applied from the subscription fetched again, never from the event alone.", func(c *Config, v string) error {
		c.StripeSecretKey = v
		return nil
	}},
	{"ROOST_STRIPE_API_URL", "https://api.stripe.com", "Base URL of the Stripe API (a stripe-mock in tests).", func(c *Config, v string) error {
		return setURL(&c.StripeAPIURL, strings.TrimRight(v, "/"), "http", "https")
	}},
	{"ROOST_BILLING_GRACE_DAYS", "30", "Days a past-due tenant stays served before `roost work` suspends it (suspension keeps every post and account; paying again reactivates).", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 3650 {
			return fmt.Errorf("must be a number of days from 0 to 3650")
		}
		c.BillingGrace = time.Duration(n) * 24 * time.Hour
		return nil
	}},
	{"ROOST_BOOKS_CURRENCY", "usd", "Currency (ISO 4217 code) of the public open books at `/books` on the portal host: costs are entered in it, and payments in other currencies are not counted there.", func(c *Config, v string) error {
		v = strings.ToLower(v)
		if len(v) != 3 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz") != "" {
			return fmt.Errorf("must be a three-letter currency code such as usd")
		}
		c.BooksCurrency = v
		return nil
	}},
	{"ROOST_DEV_DOMAIN", "localhost", "`roost dev` only: domain of the demo tenant.", func(c *Config, v string) error {
		c.DevDomain = strings.ToLower(v)
		return nil
	}},
	{"ROOST_DEV_DIR", "./var", "`roost dev` only: where the private PostgreSQL and Redis keep their files.", func(c *Config, v string) error {
		c.DevDir = v
		return nil
	}},
}

// DNS01 is the RFC 2136 dynamic-update target of the wildcard certificate.
type DNS01 struct {
	Server, Zone, KeyName, Secret, Algorithm string
}

// Load reads the environment through getenv (os.Getenv in production) and
// returns the first invalid variable as an error naming it.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	for _, v := range Vars {
		val := getenv(v.Name)
		if val == "" {
			val = v.Default
		}
		if err := v.set(c, val); err != nil {
			return nil, fmt.Errorf("invalid %s=%q: %w", v.Name, val, err)
		}
	}
	return c, nil
}

// RequireServices reports a missing database or Redis URL by variable name.
func (c *Config) RequireServices() error {
	if c.DatabaseURL == "" {
		return fmt.Errorf("ROOST_DATABASE_URL is not set (e.g. postgres://roost@127.0.0.1:5432/roost)")
	}
	if c.RedisURL == "" {
		return fmt.Errorf("ROOST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	return nil
}

func setURL(dst *string, v string, schemes ...string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	for _, s := range schemes {
		if u.Scheme == s {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("scheme must be one of %s", strings.Join(schemes, ", "))
}

func setAddr(dst *string, v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("must be host:port or :port")
	}
	*dst = v
	return nil
}

// setLoopbackAddr takes ip:port on a loopback address.
func setLoopbackAddr(dst *string, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil || port == "" {
		return fmt.Errorf("must be host:port on loopback")
	}
	// A literal address: a name (even localhost) resolves as the hosts
	// file says.
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return fmt.Errorf("must be a loopback address (127.0.0.1 or [::1]), not %q", host)
	}
	*dst = v
	return nil
}

// setHostname takes a lower-case DNS name (no port, no trailing dot).
func setHostname(dst *string, v string) error {
	v = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
	if v == "" {
		*dst = ""
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil || len(v) > 253 || !strings.Contains(v, ".") {
		return fmt.Errorf("must be a DNS host name such as portal.roost.example")
	}
	for _, l := range strings.Split(v, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return fmt.Errorf("must be a DNS host name such as portal.roost.example")
		}
	}
	*dst = v
	return nil
}

func setIP(dst *netip.Addr, v string, v4 bool) error {
	if v == "" {
		*dst = netip.Addr{}
		return nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Is4() != v4 || a.Zone() != "" {
		if v4 {
			return fmt.Errorf("must be an IPv4 address")
		}
		return fmt.Errorf("must be an IPv6 address")
	}
	*dst = a
	return nil
}

func setLimit(dst *ratelimit.Limit, v string) error {
	l, err := ratelimit.ParseLimit(v)
	if err != nil {
		return err
	}
	*dst = l
	return nil
}

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration such as 30s or 5m")
	}
	*dst = d
	return nil
}

// setCount reads a bound: a whole number, 0 for none.
func setCount(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 10_000_000 {
		return fmt.Errorf("must be a whole number from 0 (no bound) to 10000000")
	}
	*dst = n
	return nil
}

func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
