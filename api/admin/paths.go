package admin

import "sort"

// RoutePaths lists the paths the dashboard answers for method (relative
// to TenantPrefix on tenant domains), so tests outside the package (api's
// security-header test) can walk every page as new ones are added.
func RoutePaths(method string) []string {
	var out []string
	for _, r := range routes {
		if r.Method == method {
			out = append(out, r.Path)
		}
	}
	sort.Strings(out)
	return out
}
