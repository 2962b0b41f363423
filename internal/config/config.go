// Package config reads Roost's configuration from ROOST_* environment
// variables. Every variable is listed in Vars, which is also the source of
// the README's configuration table, so the two cannot drift apart.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is the validated configuration of one Roost process.
type Config struct {
	DatabaseURL    string
	RedisURL       string
	RedisPrefix    string
	HTTPAddr       string
	MetricsAddr    string
	URLScheme      string
	PublicPort     int
	TrustedProxies []netip.Prefix
	LogLevel       string
	LogFormat      string
	DomainCacheTTL time.Duration
	DomainCacheMax int
	ShutdownGrace  time.Duration
	DevDomain      string
	DevDir         string
	// FederationResolve is the raw ROOST_FEDERATION_RESOLVE; parsed by
	// federation/fetch, which owns its rules.
	FederationResolve string
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
	{"ROOST_DATABASE_URL", "", "PostgreSQL connection URL. Required for serve/work/migrate; `roost dev` provisions a private cluster when unset.", func(c *Config, v string) error {
		return setURL(&c.DatabaseURL, v, "postgres", "postgresql")
	}},
	{"ROOST_REDIS_URL", "", "Redis URL (`redis://host:port/db`). Required for serve/work; `roost dev` starts a private redis-server when unset.", func(c *Config, v string) error {
		return setURL(&c.RedisURL, v, "redis", "rediss", "unix")
	}},
	{"ROOST_REDIS_PREFIX", "roost:", "Prefix of every Redis key and channel, so several instances can share one Redis.", func(c *Config, v string) error {
		c.RedisPrefix = v
		return nil
	}},
	{"ROOST_HTTP_ADDR", ":8080", "Listen address of the web node.", func(c *Config, v string) error {
		return setAddr(&c.HTTPAddr, v)
	}},
	{"ROOST_METRICS_ADDR", "", "Optional separate listen address for /metrics; when empty /metrics is served on ROOST_HTTP_ADDR for any Host.", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		return setAddr(&c.MetricsAddr, v)
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
	{"ROOST_FEDERATION_RESOLVE", "", "Tests and local development only: `host=ip:port,...` sends federation traffic for these hosts to these loopback addresses over plain HTTP. Off by default; logged loudly when on.", func(c *Config, v string) error {
		for _, pair := range strings.Split(v, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			host, addr, ok := strings.Cut(pair, "=")
			if _, _, err := net.SplitHostPort(addr); !ok || host == "" || err != nil {
				return fmt.Errorf("each entry must be host=ip:port")
			}
		}
		c.FederationResolve = v
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
	{"ROOST_DEV_DOMAIN", "localhost", "`roost dev` only: domain of the demo tenant.", func(c *Config, v string) error {
		c.DevDomain = strings.ToLower(v)
		return nil
	}},
	{"ROOST_DEV_DIR", "./var", "`roost dev` only: where the private PostgreSQL and Redis keep their files.", func(c *Config, v string) error {
		c.DevDir = v
		return nil
	}},
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

func setDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration such as 30s or 5m")
	}
	*dst = d
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
