package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outbound matches ways of making HTTP requests other than through
// federation/fetch.
var outbound = regexp.MustCompile(`http\.(Client\{|Transport\{|DefaultClient|DefaultTransport|Get\(|Post\(|Head\(|PostForm\()`)

// allowedOutbound are the files that may make HTTP requests themselves:
// the safe client; the inbox and load benchmarks' generators, which play
// remote servers and clients (the edge of the machine); and the test
// helper that waits for a local stripe-mock to answer.
var allowedOutbound = map[string]bool{
	"federation/fetch/fetch.go":               true,
	"internal/bench/inbox.go":                 true,
	"internal/bench/load.go":                  true,
	"internal/bench/compare.go":               true, // bench compare's apps, on loopback servers it started
	"internal/bench/domains.go":               true, // bench domains' probes of the nodes it started (loopback)
	"internal/soak/client.go":                 true, // the chaos soak's apps (loopback)
	"internal/soak/cluster.go":                true, // its balancer and front doors (loopback)
	"internal/soak/stream.go":                 true, // its SSE streaming clients (loopback)
	"billing/stripe/stripemock/stripemock.go": true,
	"internal/testenv/pebble.go":              true, // tests' Pebble and its management API (loopback)
}

// SECURITY 18: every outbound request goes through the one safe client.
func TestOutboundRequestsUseTheSafeClient(t *testing.T) {
	root := "../.."
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "var" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if outbound.Match(b) && !allowedOutbound[filepath.ToSlash(rel)] {
			t.Errorf("%s makes HTTP requests itself; use federation/fetch", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("read only %d Go files", n)
	}
}
