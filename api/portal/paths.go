package portal

import (
	"sort"
	"strings"
)

// RoutePaths lists the paths the portal answers for method, so tests
// outside the package (api's security-header test) can walk every page
// as new ones are added.
func RoutePaths(method string) []string {
	var out []string
	for k := range routes {
		if m, p, _ := strings.Cut(k, " "); m == method {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
