package config

import "testing"

// Issue 21 (delivery): ROOST_PPROF_ADDR serves profiles of a live node,
// which show the process's insides: loopback addresses only.
func TestIssue21PprofAddrLoopbackOnly(t *testing.T) {
	for v, ok := range map[string]bool{
		"":               true,
		"127.0.0.1:6060": true,
		"[::1]:6060":     true,
		"127.9.9.9:6060": true,
		":6060":          false, // every interface
		"0.0.0.0:6060":   false,
		"10.0.0.5:6060":  false,
		"localhost:6060": false, // a name resolves as the hosts file says
		"127.0.0.1":      false, // no port
	} {
		c, err := Load(env(map[string]string{"ROOST_PPROF_ADDR": v}))
		if ok != (err == nil) {
			t.Errorf("ROOST_PPROF_ADDR=%q: err %v, want accepted %v", v, err, ok)
		}
		if err == nil && c.PprofAddr != v {
			t.Errorf("ROOST_PPROF_ADDR=%q: kept %q", v, c.PprofAddr)
		}
	}
}
