package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/testenv"
)

// Issue 21: Roost's connections run without JIT compilation (a home page
// merging read authors spent 130 ms compiling for 1 ms of work), unless
// ROOST_DATABASE_URL sets jit itself.
func TestIssue21ConnectionsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := testenv.DatabaseURL(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{{base, "off"}, {base + sep + "jit=on", "on"}} {
		svc, err := connect(ctx, &config.Config{DatabaseURL: c.url}, slog.New(slog.DiscardHandler), false)
		if err != nil {
			t.Fatal(err)
		}
		var jit string
		err = svc.db.QueryRow(ctx, `show jit`).Scan(&jit)
		svc.close()
		if err != nil || jit != c.want {
			t.Errorf("%s: jit = %q (%v), want %s", c.url, jit, err, c.want)
		}
	}
}
