package config

import (
	"strings"
	"testing"
)

func TestConfigTLSDefaultsAndValues(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS != "off" || c.HTTPSAddr != ":443" || c.HTTPRedirectAddr != ":80" || c.ACMECA != "production" ||
		c.ACMEEmail != "" || c.ACMECARoot != "" || strings.Join(c.ACMEChallenges, ",") != "http-01,tls-alpn-01" {
		t.Fatalf("TLS defaults: %+v", c)
	}
	c, err = Load(env(map[string]string{
		"ROOST_TLS": "acme", "ROOST_HTTPS_ADDR": "127.0.0.2:8443", "ROOST_HTTP_REDIRECT_ADDR": "127.0.0.2:8080",
		"ROOST_ACME_CA": "https://127.0.0.1:14000/dir", "ROOST_ACME_EMAIL": "ops@roost.example",
		"ROOST_ACME_CA_ROOT": "/tmp/ca.pem", "ROOST_ACME_CHALLENGES": " tls-alpn-01 ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS != "acme" || c.HTTPSAddr != "127.0.0.2:8443" || c.ACMECA != "https://127.0.0.1:14000/dir" ||
		strings.Join(c.ACMEChallenges, ",") != "tls-alpn-01" || c.ACMEEmail != "ops@roost.example" {
		t.Fatalf("TLS values: %+v", c)
	}
	if c, err := Load(env(map[string]string{"ROOST_ACME_CA": "staging", "ROOST_TLS": "self-signed"})); err != nil || c.ACMECA != "staging" || c.TLS != "self-signed" {
		t.Fatalf("staging, self-signed: %v", err)
	}
}

func TestConfigTLSInvalidValuesNameTheVariable(t *testing.T) {
	for name, val := range map[string]string{
		"ROOST_TLS":                "on",
		"ROOST_HTTPS_ADDR":         "443",
		"ROOST_HTTP_REDIRECT_ADDR": "localhost",
		"ROOST_ACME_CA":            "http://127.0.0.1:14000/dir",
		"ROOST_ACME_EMAIL":         "nobody",
		"ROOST_ACME_CHALLENGES":    "dns-01",
	} {
		_, err := Load(env(map[string]string{name: val}))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, val, err)
		}
	}
	if _, err := Load(env(map[string]string{"ROOST_ACME_CHALLENGES": ","})); err == nil {
		t.Error("an empty challenge list was accepted")
	}
}
