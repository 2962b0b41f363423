package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The rules of issue 15's layout that go list can check (the import
// rules of imports_test.go hold as well: root packages depend on nothing
// of ours but internal/errs, and only cmd wires implementations).

// Stores (*/postgres, */redis) are the innermost implementations: they
// depend on root packages' types, never on a handler package, directly
// or through anything else.
func TestIssue15Finding3StoresNeverImportAPI(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		if !isStore(r) {
			continue
		}
		for _, d := range p.Deps {
			if dr := rel(d); strings.HasPrefix(d, mod+"/") && (dr == "api" || strings.HasPrefix(dr, "api/")) {
				t.Errorf("store %s depends on %s; move the type it needs to a root package (tenant, federation, billing)", r, dr)
			}
		}
	}
}

// Handlers are the outermost room but cmd: use cases, the ActivityPub
// machinery and stores are called by handlers, never the reverse.
func TestIssue15Finding2OnlyHandlersAndCmdImportAPI(t *testing.T) {
	for _, p := range listPackages(t) {
		r := rel(p.ImportPath)
		if r == "api" || strings.HasPrefix(r, "api/") || strings.HasPrefix(r, "cmd/") {
			continue
		}
		for _, imp := range p.Imports {
			if ir := rel(imp); strings.HasPrefix(imp, mod+"/") && (ir == "api" || strings.HasPrefix(ir, "api/")) {
				t.Errorf("%s imports the handler package %s", r, ir)
			}
		}
	}
}

func isStore(r string) bool {
	return strings.HasSuffix(r, "/postgres") || strings.HasSuffix(r, "/redis")
}

// One outbound HTTP client: every request to a URL the fediverse (or a
// user) can influence goes through federation/fetch, which refuses
// private addresses, bounds sizes and times, and signs. Outside it, no
// non-test file may build an http.Client or http.Transport, use the
// default client, call http.Get/Post/Head/PostForm, or dial a connection
// itself — whatever name net/http, net or crypto/tls is imported under.
//
// The allowance list is short, and every entry talks only to something
// on this machine or the operator's own configuration:
var outboundAllowed = map[string]string{
	"federation/fetch":          "the one safe client",
	"internal/devenv":           "waits for the local PostgreSQL and Redis it started; seeds roost dev's demo account on loopback",
	"internal/testenv":          "test servers on loopback",
	"internal/bench":            "the benchmarks play remote servers and clients on loopback",
	"internal/soak":             "the chaos soak plays apps, remote servers and a load balancer on loopback",
	"billing/stripe/stripemock": "waits for the local stripe-mock it started",
}

// outboundSDKs make HTTP requests of their own, to endpoints the operator
// configures (Stripe's API, an S3 bucket, the ACME CA): each stays in its
// one package.
var outboundSDKs = map[string][]string{
	"github.com/stripe/stripe-go":      {"billing/stripe"},
	"github.com/minio/minio-go":        {"federation/social/media/s3"},
	"github.com/caddyserver/certmagic": {"tenant/certs", "cmd/"},
}

// outboundNames are the identifiers that make outbound connections, per
// standard-library package.
var outboundNames = map[string]map[string]bool{
	"net/http": {"Client": true, "Transport": true, "DefaultClient": true, "DefaultTransport": true,
		"Get": true, "Post": true, "Head": true, "PostForm": true},
	"net":        {"Dial": true, "DialTimeout": true, "Dialer": true, "DialTCP": true, "DialUDP": true, "DialIP": true, "DialUnix": true},
	"crypto/tls": {"Dial": true, "DialWithDialer": true, "Dialer": true},
}

func TestIssue15OneOutboundHTTPClient(t *testing.T) {
	root := "../.."
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "var" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		if _, ok := outboundAllowed[dir]; ok {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		n++
		for _, use := range outboundUses(f) {
			t.Errorf("%s: %s makes outbound connections itself; use federation/fetch", fset.Position(use.Pos()), use.name)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for sdk, allowed := range outboundSDKs {
				if strings.HasPrefix(p, sdk) && !matches(dir, allowed) {
					t.Errorf("%s imports %s, which makes its own HTTP requests; only %v may", fset.Position(imp.Pos()), p, allowed)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("parsed only %d Go files", n)
	}
}

type outboundUse struct {
	ast.Node
	name string
}

// outboundUses finds the references to outboundNames in f, through the
// names f imports their packages under.
func outboundUses(f *ast.File) []outboundUse {
	local := map[string]string{} // name in this file → import path
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if outboundNames[p] == nil {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = p
	}
	var uses []outboundUse
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && outboundNames[local[id.Name]][sel.Sel.Name] {
			uses = append(uses, outboundUse{sel, local[id.Name] + "." + sel.Sel.Name})
		}
		return true
	})
	return uses
}

// The check sees through renamed imports and catches every form.
func TestOutboundUsesSeesRenamedImports(t *testing.T) {
	src := `package x
import (
	nethttp "net/http"
	"net"
	"crypto/tls"
)
var c = new(nethttp.Client)
var d net.Dialer
func f() { nethttp.Get(""); tls.Dial("tcp", "", nil); _ = nethttp.DefaultClient; _ = nethttp.StatusOK }
`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range outboundUses(f) {
		got = append(got, u.name)
	}
	want := "net/http.Client net.Dialer net/http.Get crypto/tls.Dial net/http.DefaultClient"
	if strings.Join(got, " ") != want {
		t.Fatalf("found %q, want %q", got, want)
	}
}
