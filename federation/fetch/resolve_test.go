package fetch

import (
	"maps"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

func TestParseResolve(t *testing.T) {
	valid := map[string]map[string]string{
		"":    {},
		"   ": {},
		"a.test=127.0.0.2:8080,b.test=127.0.0.3:80":        {"a.test": "127.0.0.2:8080", "b.test": "127.0.0.3:80"},
		" A.Test = 127.0.0.2:8080 , localhost=127.0.0.1:1": {"a.test": "127.0.0.2:8080", "localhost": "127.0.0.1:1"},
		"six.test=[::1]:8443":                              {"six.test": "[::1]:8443"},
		"xn--bcher-kva.test=10.0.0.1:443":                  {"xn--bcher-kva.test": "10.0.0.1:443"},
	}
	for in, want := range valid {
		got, err := ParseResolve(in)
		if err != nil {
			t.Errorf("ParseResolve(%q): %v", in, err)
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("ParseResolve(%q) = %v, want %v", in, got, want)
		}
	}
	invalid := []string{
		"a.test",                                  // no address
		"a.test=",                                 // empty address
		"=127.0.0.1:80",                           // no host
		"a.test=127.0.0.1",                        // no port
		"a.test=127.0.0.1:0",                      // port zero
		"a.test=127.0.0.1:99999",                  // port out of range
		"a.test=localhost:80",                     // not an IP
		"a.test=[fe80::1%eth0]:80",                // zone
		"127.0.0.1=127.0.0.1:80",                  // IP literal as host
		"a.test:80=127.0.0.1:80",                  // host with port
		"a..test=127.0.0.1:80",                    // empty label
		"-a.test=127.0.0.1:80",                    // leading hyphen
		"a.test.=127.0.0.1:80",                    // trailing dot
		"a_b.test=127.0.0.1:80",                   // underscore
		"bücher.test=127.0.0.1:80",                // not punycode
		"a.test=127.0.0.1:80,",                    // trailing comma
		"a.test=127.0.0.1:80,a.test=127.0.0.2:80", // duplicate
		"A.test=127.0.0.1:80,a.TEST=127.0.0.2:80", // duplicate after folding
	}
	for _, in := range invalid {
		if _, err := ParseResolve(in); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseResolve(%q) = %v, want an invalid error", in, err)
		}
	}
}
