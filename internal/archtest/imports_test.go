// Package archtest checks the import rules of DESIGN.md with `go list`:
// dependencies flow inward (api → root packages → nothing of ours), each
// third-party infrastructure library stays at its edge, and only cmd wires
// concrete implementations together.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/roost-social/roost"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// rootPackages hold domain types and interfaces; they may depend on the
// standard library, golang.org/x and internal/errs only — transitively.
// internal/ratelimit is held to the same rule: the sign-in throttle's
// policy, imported by api packages, with its Redis store in /redis.
var rootPackages = []string{"tenant", "federation", "billing", "internal/ratelimit"}

// edges says which of our packages may import a third-party library.
var edges = map[string][]string{
	"github.com/gofiber/fiber":         {"api", "api/"},
	"github.com/valyala/fasthttp":      {"api", "api/"},
	"github.com/jackc/pgx":             {"/postgres", "internal/pgutil", "internal/testenv", "internal/devenv", "internal/bench", "internal/soak", "migrations", "cmd/"},
	"github.com/jackc/tern":            {"migrations"},
	"github.com/redis/go-redis":        {"/redis", "internal/testenv", "cmd/", "federation/delivery", "api/streaming"},
	"github.com/go-fed/httpsig":        {"federation/signature"},
	"github.com/caddyserver/certmagic": {"tenant/certs", "cmd/"},
	"github.com/go-redis/redis_rate":   {"internal/ratelimit/redis"},

	// Web Push encryption and VAPID, behind the federation.PushSender port.
	"github.com/SherClockHolmes/webpush-go": {"federation/webpush"},
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, mod), "/") }

func TestRootPackagesDependOnNothingOfOurs(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		if !isRoot(r) {
			continue
		}
		for _, d := range p.Deps {
			switch {
			case strings.HasPrefix(d, mod+"/"):
				if rel(d) != "internal/errs" {
					t.Errorf("%s depends on %s; root packages may use only internal/errs of ours", r, rel(d))
				}
			case strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !strings.HasPrefix(d, "golang.org/x/"):
				t.Errorf("%s depends on third-party %s; keep libraries in implementation packages", r, d)
			}
		}
	}
}

func TestThirdPartyLibrariesStayAtTheirEdge(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, imp := range p.Imports {
			for lib, allowed := range edges {
				if strings.HasPrefix(imp, lib) && !matches(r, allowed) {
					t.Errorf("%s imports %s; only %v may", r, imp, allowed)
				}
			}
		}
	}
}

func TestOnlyCmdWiresImplementations(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod+"/") {
				continue
			}
			ir := rel(imp)
			if strings.HasPrefix(ir, "cmd/") {
				t.Errorf("%s imports the command %s", r, ir)
			}
			impl := strings.HasSuffix(ir, "/postgres") || strings.HasSuffix(ir, "/redis")
			testHelper := strings.HasPrefix(r, "internal/testenv")
			if impl && !strings.HasPrefix(r, "cmd/") && !testHelper && !strings.HasPrefix(r, parentOf(ir)+"/") {
				t.Errorf("%s imports the implementation %s; only cmd wires implementations", r, ir)
			}
			if strings.HasPrefix(r, "api") && (impl || strings.HasPrefix(ir, "migrations")) {
				t.Errorf("api package %s imports %s", r, ir)
			}
		}
	}
}

func isRoot(r string) bool {
	for _, root := range rootPackages {
		if r == root {
			return true
		}
	}
	return false
}

func parentOf(r string) string { return r[:max(strings.LastIndexByte(r, '/'), 0)] }

// matches reports whether r is one of the allowed package patterns: "x"
// exactly, "x/" any package under x, "/x" any package ending in /x.
func matches(r string, allowed []string) bool {
	for _, a := range allowed {
		switch {
		case strings.HasPrefix(a, "/") && strings.HasSuffix(r, a):
			return true
		case strings.HasSuffix(a, "/") && strings.HasPrefix(r, a):
			return true
		case r == a || strings.HasPrefix(r, a+"/"):
			return true
		}
	}
	return false
}
