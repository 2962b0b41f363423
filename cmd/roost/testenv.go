package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"syscall"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
)

// runTestenv starts private PostgreSQL and Redis (installing them when
// missing and allowed), runs the command given after -- with
// ROOST_TEST_DATABASE_URL (a superuser URL; tests create their own
// databases) and ROOST_TEST_REDIS_URL set, stops both, and exits with the
// command's status.
func runTestenv(ctx context.Context, _ *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("testenv", flag.ContinueOnError)
	dir := fs.String("dir", "./var/test", "where the test servers keep their files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: roost testenv [--dir D] -- command [args...]")
	}
	// A fresh cluster every run: no state leaks between runs.
	if err := os.RemoveAll(*dir); err != nil {
		return fmt.Errorf("remove the last run's test servers: %w", err)
	}
	env, err := devenv.Start(ctx, devenv.Options{
		Dir: *dir, Install: true, Database: "roost_test",
		Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) },
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := env.Stop(); err != nil {
			log.Warn("stopping the test servers", "err", err)
		}
	}()
	// The JavaScript client test (TestJSClientMegalodon) runs node and npm;
	// the portal's browser test (TestPortalSignupInBrowser) Debian's chromium.
	for _, t := range [][2]string{{"node", "nodejs"}, {"npm", "npm"}, {"chromium", "chromium"}} {
		if err := devenv.EnsureTool(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}, t[0], t[1]); err != nil {
			log.Warn("a test needing "+t[0]+" will fail", "err", err)
		}
	}
	// The Mastodon.py client test (TestMastodonPyClient) runs Debian's
	// python3-mastodon.
	if err := devenv.EnsurePythonModule(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}, "mastodon", "python3-mastodon"); err != nil {
		log.Warn("the Mastodon.py test will fail", "err", err)
	}
	// The HTTPS tests run Pebble, a real ACME CA, built once per machine
	// into ~/.cache/roost/tools (the test builds it itself when missing).
	if _, err := devenv.Pebble(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}); err != nil {
		log.Warn("the ACME tests will fail", "err", err)
	}
	// The billing tests run stripe-mock (Stripe's API mock), built the
	// same way.
	if _, err := devenv.StripeMock(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}); err != nil {
		log.Warn("the Stripe tests will fail", "err", err)
	}
	// The chart tests (charts/) run helm lint and helm template, with helm
	// built the same way.
	if _, err := devenv.Helm(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}); err != nil {
		log.Warn("the Helm chart tests will fail", "err", err)
	}
	// The interop test (internal/interop) runs a real GoToSocial, kept
	// beside the checkout as a static build and unpacked the same way.
	if src, err := devenv.GoToSocialSource(); err != nil {
		log.Warn("the GoToSocial interop test will fail", "err", err)
	} else if _, err := devenv.GoToSocial(devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}, src); err != nil {
		log.Warn("the GoToSocial interop test will fail", "err", err)
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "ROOST_TEST_DATABASE_URL="+env.AdminURL, "ROOST_TEST_REDIS_URL="+env.RedisURL)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = cmd.Process.Signal(syscall.SIGTERM) // fails only once it has exited
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: max(ee.ExitCode(), 1)}
	}
	return err
}
