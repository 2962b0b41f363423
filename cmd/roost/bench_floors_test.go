package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Issue 21: every benchmark prints, in its JSON line, a floor measured in
// the same run (or the ratio to it), so that a figure taken on a loaded
// machine still says something. Each benchmark runs small, end to end;
// what is asserted is the shape of its last line and that every floor
// was measured (positive), never how fast anything was.
func TestIssue21BenchJSONLinesCarryTheirFloors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		keys []string // numbers that must be positive
	}{
		{"post", []string{"post", "--followers", "40,80", "--posts", "4", "--concurrency", "2", "--probes", "1",
			"--rate", "20", "--latency-posts", "4", "--durable=false"},
			[]string{"latency_p50_ms", "latency_p99_ms", "commit_floor_p99_ms", "latency_p99_over_floor", "latency_p99_ratio",
				"saturation_p99_ms", "saturation_floor_p99_ms", "saturation_p99_over_floor", "last_home_feed_max_ms"}},
		{"delivery", []string{"delivery", "--inboxes", "20"},
			[]string{"seconds", "sign_floor_seconds", "verify_floor_seconds", "limit_seconds", "ratio"}},
		{"inbox", []string{"inbox", "--requests", "200", "--concurrency", "4"},
			[]string{"per_second", "p99_ms", "limit_seconds", "ratio"}},
		{"timeline", []string{"timeline", "--statuses", "4000", "--follows", "20", "--requests", "20", "--pages", "2",
			"--patterns", "often"},
			[]string{"p99_ms", "floor_p50_ms", "floor_p99_ms", "p99_over_floor"}},
		{"export", []string{"export", "--posts", "50", "--media", "1048576", "--media-file", "524288"},
			[]string{"peak_mb", "archive_mb", "baseline_rss_mb", "peak_over_archive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := roost(t, nil, append([]string{"bench"}, c.args...)...)
			if code != 0 {
				t.Fatalf("bench %s: exit %d\n%s\n%s", c.name, code, out, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var last map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatalf("bench %s: last line is not JSON: %v\n%s", c.name, err, out)
			}
			if last["bench"] != c.name {
				t.Fatalf("bench %s: last line %v", c.name, last)
			}
			for _, k := range c.keys {
				if v, ok := last[k].(float64); !ok || v <= 0 {
					t.Errorf("bench %s: %s = %v, want a positive number\n%s", c.name, k, last[k], lines[len(lines)-1])
				}
			}
		})
	}
}
