package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// TestIssue16AuthorizedFetchTenantSetting: a tenant's own authorized-fetch
// setting is stored, read with its Site on every host it answers on (nil:
// follow the instance), and SetAuthorizedFetch names those hosts for the
// caller to invalidate.
func TestIssue16AuthorizedFetchTenantSetting(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	a := create(t, s, "A", "a.example", "social.a.example")
	b := create(t, s, "B", "b.example", "")
	on, off := true, false
	for _, want := range []*bool{nil, &on, &off, nil} {
		hosts, err := s.SetAuthorizedFetch(ctx, a.ID, want)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(hosts)
		if !slices.Equal(hosts, []string{"a.example", "social.a.example"}) {
			t.Fatalf("hosts to invalidate: %v", hosts)
		}
		for _, h := range []string{"a.example", "social.a.example"} {
			site, err := s.SiteByHost(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if (site.AuthorizedFetch == nil) != (want == nil) || (want != nil && *site.AuthorizedFetch != *want) {
				t.Fatalf("%s: AuthorizedFetch %v, want %v", h, site.AuthorizedFetch, want)
			}
		}
		// Another tenant is untouched.
		if site, err := s.SiteByHost(ctx, "b.example"); err != nil || site.AuthorizedFetch != nil {
			t.Fatalf("tenant B: %+v, %v", site, err)
		}
	}
	if _, err := s.SetAuthorizedFetch(ctx, b.ID+100, &on); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown tenant: %v, want not found", err)
	}
}
