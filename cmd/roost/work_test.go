package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestIssue15Finding7WorkStartsNoBareGoroutines keeps `roost work`'s
// background work under the supervisor (internal/jobs): a loop started
// with a bare go statement is neither recovered from a panic nor awaited
// at shutdown. Every loop is a jobs.Job in workJobs or portabilityJobs.
func TestIssue15Finding7WorkStartsNoBareGoroutines(t *testing.T) {
	supervised := map[string]bool{"work": true, "workJobs": true, "portabilityJobs": true}
	fset := token.NewFileSet()
	found := map[string]bool{}
	for _, file := range []string{"work.go", "archive_work.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !supervised[fn.Name.Name] {
				continue
			}
			found[fn.Name.Name] = true
			ast.Inspect(fn, func(n ast.Node) bool {
				if g, ok := n.(*ast.GoStmt); ok {
					t.Errorf("%s: %s starts a goroutine itself; make it a jobs.Job", fset.Position(g.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
	for name := range supervised {
		if !found[name] {
			t.Errorf("%s is gone; update this test to where the work jobs are listed", name)
		}
	}
}
