package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/verify"
)

// instance is a configuration whose own names are spread over the base
// domain and elsewhere; the public host name is the base domain itself.
var instance = verify.NewReserved("roost.example",
	"ops.roost.example",                       // operator host, under the base domain
	"portal.elsewhere.example",                // portal host, elsewhere
	"roost.example",                           // public host name = base domain
	"metrics.internal.example:9090",           // metrics listener
	"https://s3.storage.example/media",        // media store
	"https://api.stripe.example",              // billing API
	":9090", "127.0.0.1:80", "[::1]:8080", "", // listen addresses and blanks: nothing to reserve
)

func TestReservedHosts(t *testing.T) {
	want := []string{"ops.roost.example", "portal.elsewhere.example", "roost.example", "metrics.internal.example",
		"s3.storage.example", "api.stripe.example"}
	if got := instance.Hosts(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("hosts %v, want %v", got, want)
	}
	for name, reserved := range map[string]bool{
		"ops.roost.example": true, "portal.elsewhere.example": true, "x.portal.elsewhere.example": true,
		"a.b.ops.roost.example": true, "roost.example": true, "metrics.internal.example": true,
		"s3.storage.example": true, "bucket.s3.storage.example": true, "api.stripe.example": true,
		// The base domain's subdomains are the instance's to give.
		"alice.roost.example": false, "elsewhere.example": false, "xops.roost.example": false,
		"portal.elsewhere.example.evil": false, "storage.example": false,
	} {
		if err := instance.Check(name); (err != nil) != reserved || (err != nil && !errs.Is(err, errs.Invalid)) {
			t.Errorf("%s: %v, want reserved %v", name, err, reserved)
		}
	}
}

// Issue 14 finding 9, the portal's three choices: every reserved host
// (and a name under it) is refused on every path, before anything is
// stored (the Signups here have no store: reaching it would panic).
func TestIssue14Finding9PortalRefusesEveryReservedHost(t *testing.T) {
	s := &verify.Signups{BaseDomain: "roost.example", PortalHost: "portal.roost.example", Reserved: instance}
	sg := &verify.Signup{TenantID: 1}
	ctx := context.Background()
	hosts := append(instance.Hosts(), "portal.roost.example")
	for _, h := range hosts {
		names := []string{h}
		if h != "roost.example" {
			names = append(names, "sub."+h)
		}
		for _, name := range names {
			paths := map[string]func() error{
				"own":           func() error { _, err := s.ChooseOwn(ctx, sg, name); return err },
				"split handle":  func() error { _, err := s.ChooseSplit(ctx, sg, name, "social.free.example"); return err },
				"split service": func() error { _, err := s.ChooseSplit(ctx, sg, "free.example", name); return err },
			}
			if label, ok := strings.CutSuffix(name, ".roost.example"); ok && !strings.Contains(label, ".") {
				paths["subdomain"] = func() error { _, err := s.ChooseSubdomain(ctx, sg, label); return err }
			}
			for path, claim := range paths {
				var fe verify.FieldErrors
				if err := claim(); !errors.As(err, &fe) || len(fe) == 0 {
					t.Errorf("%s via %s: %v, want a field error", name, path, err)
				}
			}
		}
	}
}
