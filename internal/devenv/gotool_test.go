package devenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GoTool reuses what is cached and, when it may not build, says how to.
func TestGoToolCacheForAcmeTests(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	root, err := ToolsDir()
	if err != nil || root != filepath.Join(cache, "roost", "tools") {
		t.Fatalf("ToolsDir = %q, %v", root, err)
	}
	_, err = GoTool(Options{}, "example.com/x/cmd/fake", "v1.2.3")
	if err == nil || !strings.Contains(err.Error(), "go install example.com/x/cmd/fake@v1.2.3") {
		t.Fatalf("missing tool without install: %v", err)
	}
	bin := filepath.Join(root, "fake-v1.2.3", "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.WriteFile(filepath.Join(bin, "fake"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := GoTool(Options{Install: true}, "example.com/x/cmd/fake", "v1.2.3")
	if err != nil || dir != bin {
		t.Fatalf("cached tool: %q, %v", dir, err)
	}
}
