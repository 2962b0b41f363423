package tenant

import (
	"fmt"

	"github.com/roost-social/roost/internal/errs"
)

// Origin is the scheme and public port tenants are served on: every
// URI Roost stores for a local object starts with scheme://domain[:port].
type Origin struct {
	Scheme string // "https", or "http" for local development
	Port   int    // 0: the scheme's default
}

// normal is o with the scheme's default port written as 0.
func (o Origin) normal() Origin {
	if o.Scheme == "" {
		o.Scheme = "https"
	}
	if (o.Scheme == "https" && o.Port == 443) || (o.Scheme == "http" && o.Port == 80) {
		o.Port = 0
	}
	return o
}

// String is the origin as a URL prefix for host.
func (o Origin) String() string {
	o = o.normal()
	if o.Port == 0 {
		return o.Scheme + "://HOST"
	}
	return fmt.Sprintf("%s://HOST:%d", o.Scheme, o.Port)
}

// CheckOrigin refuses a command whose URIs would start with mine while
// the web nodes serve served (nil: no node has recorded one yet, so
// nothing to compare with). Links written for an origin nobody serves
// are broken forever: remote servers keep them as the objects' ids.
func CheckOrigin(served *Origin, mine Origin) error {
	if served == nil || served.normal() == mine.normal() {
		return nil
	}
	return errs.E(errs.Invalid, "this instance is served at %s but this command would write links for %s: "+
		"set ROOST_URL_SCHEME and ROOST_PUBLIC_PORT as the web nodes have them (beside `roost dev`, run the command in the same directory without ROOST_DATABASE_URL)",
		served, mine.normal())
}
