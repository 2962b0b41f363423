package mastodon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestIssue15Finding2HandlersSpawnNoGoroutines: no client API code starts
// a goroutine. Work that outlives a request (a forwarded report, a rel=me
// check) is queued in PostgreSQL or handed to a service that owns its
// lifetime; a bare goroutine with its own context is lost on restart and
// unsupervised (report forwarding was one).
func TestIssue15Finding2HandlersSpawnNoGoroutines(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s starts a goroutine", fset.Position(g.Pos()))
			}
			return true
		})
	}
}
