package devenv

import (
	"os"
	"os/exec"
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

// The GoToSocial build is unpacked once, checked against its checksum,
// and a substituted binary is refused.
func TestGoToSocialUnpackedOnceAndChecked(t *testing.T) {
	src, err := GoToSocialSource()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "web.tar.xz")); err != nil {
		t.Skipf("no GoToSocial build at %s (set %s): %v", src, GoToSocialSourceEnv, err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if _, err := GoToSocial(Options{}, src); err == nil || !strings.Contains(err.Error(), "not unpacked") {
		t.Fatalf("without install: %v", err)
	}
	dir, err := GoToSocial(Options{Install: true}, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"gotosocial", "web/template", "web/assets"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := GoToSocial(Options{}, src); err != nil || again != dir {
		t.Fatalf("cached: %q, %v", again, err)
	}

	fake := t.TempDir()
	os.WriteFile(filepath.Join(fake, "web.tar.xz"), nil, 0o644)
	if out, err := exec.Command("sh", "-c", "echo not gotosocial | xz > "+filepath.Join(fake, "gotosocial-"+GoToSocialVersion+"-linux-amd64.xz")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	if _, err := GoToSocial(Options{Install: true}, fake); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("substituted binary: %v", err)
	}
}
