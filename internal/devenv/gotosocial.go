package devenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// GoToSocialVersion is the GoToSocial build the interop tests run as a
// real fediverse peer; see GoToSocial.
const GoToSocialVersion = "v0.20.0-rc1"

// goToSocialSHA256 is the checksum of the unpacked binary, as its README
// gives it: a corrupt or substituted copy is refused, not run.
const goToSocialSHA256 = "d4be3b9c722b60064eea6d69ccb19ce3235cc508b6e79e0e4818385f086636f8"

// GoToSocialSourceEnv names a directory holding the GoToSocial build
// (gotosocial-VERSION-linux-amd64.xz and web.tar.xz), for machines where it
// is not at ../shared/tools/gotosocial beside the checkout.
const GoToSocialSourceEnv = "ROOST_GOTOSOCIAL_DIST"

// GoToSocialSource finds the kept GoToSocial build: $ROOST_GOTOSOCIAL_DIST,
// else shared/tools/gotosocial next to the checkout holding the working
// directory (its module is not served by the Go proxy here, so it cannot
// be built like Pebble).
func GoToSocialSource() (string, error) {
	if d := os.Getenv(GoToSocialSourceEnv); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "tools", "gotosocial"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; set %s", GoToSocialSourceEnv)
		}
		dir = parent
	}
}

// GoToSocial returns a directory holding the gotosocial binary and its web
// templates and assets (web/template, web/assets), unpacked from src once
// per machine into ToolsDir()/gotosocial-VERSION. Concurrent callers wait
// on a lock file; the directory appears complete or not at all.
func GoToSocial(o Options, src string) (string, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	root, err := ToolsDir()
	if err != nil {
		return "", err
	}
	name := "gotosocial-" + GoToSocialVersion
	dir := filepath.Join(root, name)
	if isExecutable(filepath.Join(dir, "gotosocial")) {
		return dir, nil
	}
	if !o.Install {
		return "", fmt.Errorf("GoToSocial %s is not unpacked; run the README's test command (go run ./cmd/roost test) once", GoToSocialVersion)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(root, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if isExecutable(filepath.Join(dir, "gotosocial")) {
		return dir, nil // unpacked by another process while we waited
	}
	if err := EnsureTool(o, "xz", "xz-utils"); err != nil {
		return "", err
	}
	o.Logf("unpacking GoToSocial %s once for this machine from %s into %s", GoToSocialVersion, src, dir)
	tmp, err := os.MkdirTemp(root, name+"-unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := unpackGoToSocial(src, tmp); err != nil {
		return "", err
	}
	os.Chmod(tmp, 0o755)
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// unpackGoToSocial decompresses the binary (checking its checksum) and the
// web directory into dst, with the system's xz and tar.
func unpackGoToSocial(src, dst string) error {
	xzFile := filepath.Join(src, "gotosocial-"+GoToSocialVersion+"-linux-amd64.xz")
	webFile := filepath.Join(src, "web.tar.xz")
	for _, f := range []string{xzFile, webFile} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("GoToSocial build not found (set %s to its directory): %w", GoToSocialSourceEnv, err)
		}
	}
	bin := filepath.Join(dst, "gotosocial")
	if err := xzDecompress(xzFile, bin); err != nil {
		return err
	}
	if sum, err := fileSHA256(bin); err != nil {
		return err
	} else if sum != goToSocialSHA256 {
		return fmt.Errorf("%s unpacks to sha256 %s, want %s: refusing to run it", xzFile, sum, goToSocialSHA256)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("tar", "-xJf", webFile, "-C", dst).CombinedOutput(); err != nil {
		return fmt.Errorf("tar -xJf %s: %w\n%s", webFile, err, out)
	}
	return nil
}

func xzDecompress(src, dst string) error {
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	var msg bytes.Buffer
	cmd := exec.Command("xz", "-dc", src)
	cmd.Stdout, cmd.Stderr = out, &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("xz -dc %s: %w\n%s", src, err, msg.String())
	}
	return out.Close()
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
