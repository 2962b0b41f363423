// Package interop holds tests that run Roost beside other fediverse
// servers as real processes: `roost serve` and `roost work` next to an
// unmodified GoToSocial, both over HTTPS on loopback addresses, each
// driven only through its own Mastodon client API, as a person with an app
// would. The code is all in _test.go files; this file only names the
// package.
package interop
