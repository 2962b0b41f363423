package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// `roost bench domains` end to end, small: it seeds tenants with
// certificates, starts serve and work nodes, and prints one JSON line of
// the documented shape. Its EXPLAIN pass (sequential scans priced out, so
// a small table is not scanned merely for being small) must find no
// dashboard, portal or NodeInfo read that scans a per-tenant table whole.
// No figure is asserted: they are the machine's.
func TestIssue20BenchDomainsShapeAndNoTenantScans(t *testing.T) {
	t.Parallel()
	code, out, stderr := roost(t, nil, "bench", "domains", "--count", "500", "--nodes", "2", "--samples", "5",
		"--tls-cold", "40", "--duration", "300ms")
	if code != 0 {
		t.Fatalf("bench domains: exit %d\n%s\n%s", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res struct {
		Bench     string `json:"bench"`
		Count     int    `json:"count"`
		Hostnames int    `json:"hostnames"`
		Certs     int    `json:"certificates"`
		Serve     struct {
			StartS float64 `json:"start_s"`
			RSSMiB float64 `json:"rss_mib"`
		} `json:"serve"`
		Work struct {
			StartS float64 `json:"start_s"`
			RSSMiB float64 `json:"rss_mib"`
		} `json:"work"`
		Routing struct {
			Entries       int     `json:"entries"`
			WarmNS        float64 `json:"warm_ns"`
			WarmCPU       float64 `json:"warm_cpu_ns"`
			ColdPerS      float64 `json:"cold_per_s"`
			Invalidations int     `json:"invalidation_nodes"`
			InvalMax      float64 `json:"invalidation_max_ms"`
		} `json:"routing"`
		TLS struct {
			WarmPerS float64 `json:"warm_per_s"`
			Cold     int     `json:"cold_handshakes"`
		} `json:"tls"`
		Pages []struct {
			Name string  `json:"name"`
			N    int     `json:"n"`
			P99  float64 `json:"p99_ms"`
		} `json:"pages"`
		Passes []struct {
			Name string  `json:"name"`
			S    float64 `json:"s"`
		} `json:"passes"`
		Renewal struct {
			OrdersPerDay float64 `json:"orders_per_day"`
			Headroom     float64 `json:"headroom"`
			Inside3x     bool    `json:"inside_3x"`
		} `json:"renewal_plan"`
		SeqScans []string `json:"seq_scans"`
		Load     string   `json:"loadavg_start"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the result: %v\n%s", err, out)
	}
	if res.Bench != "domains" || res.Count != 500 || res.Hostnames < 500 || res.Certs != res.Hostnames || res.Load == "" {
		t.Errorf("header: %+v", res)
	}
	if res.Serve.StartS <= 0 || res.Serve.RSSMiB <= 0 || res.Work.StartS <= 0 || res.Work.RSSMiB <= 0 {
		t.Errorf("nodes: %+v %+v", res.Serve, res.Work)
	}
	if res.Routing.Entries != res.Hostnames || res.Routing.WarmNS <= 0 || res.Routing.WarmCPU <= 0 || res.Routing.ColdPerS <= 0 ||
		res.Routing.Invalidations != 1 || res.Routing.InvalMax <= 0 {
		t.Errorf("routing: %+v", res.Routing)
	}
	if res.TLS.WarmPerS <= 0 || res.TLS.Cold != 40 {
		t.Errorf("tls: %+v", res.TLS)
	}
	want := []string{"operator dashboard", "tenant list", "tenant list, suspended", "tenant search", "tenant detail",
		"tenant dashboard", "billing usage (operator)", "billing usage (tenant)", "portal claim", "nodeinfo"}
	if len(res.Pages) != len(want) {
		t.Fatalf("pages: %+v", res.Pages)
	}
	for i, p := range res.Pages {
		if p.Name != want[i] || p.N != 5 || p.P99 <= 0 {
			t.Errorf("page %d: %+v, want %q", i, p, want[i])
		}
	}
	if len(res.Passes) != 4 || res.Renewal.OrdersPerDay <= 0 || !res.Renewal.Inside3x {
		t.Errorf("passes %+v, renewal plan %+v", res.Passes, res.Renewal)
	}
	if len(res.SeqScans) != 0 {
		t.Errorf("reads that scan a per-tenant table whole: %v", res.SeqScans)
	}
	if !strings.Contains(stderr, "renewal plan") || !strings.Contains(stderr, "routing warm") {
		t.Errorf("no table on stderr:\n%s", stderr)
	}
}
