package config

import (
	"os"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.URLScheme != "https" || c.RedisPrefix != "roost:" || c.DomainCacheMax != 100000 ||
		c.DevDomain != "localhost" || c.TrustedProxies != nil || c.LogLevel != "info" {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.RequireServices(); err == nil || !strings.Contains(err.Error(), "ROOST_DATABASE_URL") {
		t.Fatalf("RequireServices: %v", err)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	for name, val := range map[string]string{
		"ROOST_DATABASE_URL":      "mysql://x",
		"ROOST_REDIS_URL":         "http://x",
		"ROOST_HTTP_ADDR":         "8080",
		"ROOST_METRICS_ADDR":      "localhost",
		"ROOST_URL_SCHEME":        "ftp",
		"ROOST_PUBLIC_PORT":       "70000",
		"ROOST_TRUSTED_PROXIES":   "10.0.0.0/8, nope",
		"ROOST_LOG_LEVEL":         "loud",
		"ROOST_LOG_FORMAT":        "xml",
		"ROOST_DOMAIN_CACHE_TTL":  "0s",
		"ROOST_DOMAIN_CACHE_SIZE": "-1",
		"ROOST_SHUTDOWN_GRACE":    "soon",
	} {
		_, err := Load(env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, val, err)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"ROOST_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,fd00::/8"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 fd00::/8" {
		t.Fatalf("proxies %v", got)
	}
}

// docs/configuration.md lists every variable with its default.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range Vars {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		if !strings.Contains(readme, "| `"+v.Name+"` | "+def+" |") {
			t.Errorf("docs/configuration.md lacks a table row for %s with default %s", v.Name, def)
		}
	}
}
