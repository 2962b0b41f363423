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
		env  []string
		// read: the last audience's poster is read by its followers
		// (past ROOST_HOME_PULL_FOLLOWERS), the first's filed.
		read bool
	}{
		{"post", []string{"post", "--followers", "40,80", "--posts", "4", "--concurrency", "2", "--probes", "1",
			"--rate", "20", "--latency-posts", "4", "--durable=false"},
			[]string{"latency_p50_ms", "latency_p99_ms", "commit_floor_p99_ms", "latency_p99_over_floor", "latency_p99_ratio",
				"saturation_p99_ms", "saturation_floor_p99_ms", "saturation_p99_over_floor", "last_home_feed_max_ms"}, nil, false},
		// Past the bound the poster is read: its followers' home timelines,
		// read through the API, show every post (bench post checks them).
		{"post", []string{"post", "--followers", "30,80", "--posts", "4", "--concurrency", "2", "--probes", "1",
			"--rate", "20", "--latency-posts", "4", "--durable=false"},
			[]string{"latency_p99_ms", "last_home_feed_max_ms", "home_pull_followers"}, []string{"ROOST_HOME_PULL_FOLLOWERS=50"}, true},
		{"delivery", []string{"delivery", "--inboxes", "20"},
			[]string{"seconds", "sign_floor_seconds", "verify_floor_seconds", "limit_seconds", "ratio"}, nil, false},
		{"inbox", []string{"inbox", "--requests", "200", "--concurrency", "4"},
			[]string{"per_second", "p99_ms", "limit_seconds", "ratio"}, nil, false},
		{"timeline", []string{"timeline", "--statuses", "4000", "--follows", "20", "--requests", "20", "--pages", "2",
			"--patterns", "often,read", "--read-authors", "3"},
			[]string{"p99_ms", "floor_p50_ms", "floor_p99_ms", "p99_over_floor", "read_authors"}, nil, false},
		{"export", []string{"export", "--posts", "50", "--media", "1048576", "--media-file", "524288"},
			[]string{"peak_mb", "archive_mb", "baseline_rss_mb", "peak_over_archive"}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, stderr := roost(t, c.env, append([]string{"bench"}, c.args...)...)
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
			if c.read {
				var r struct {
					Audiences []struct {
						Read bool `json:"read_by_followers"`
					} `json:"audiences"`
				}
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || len(r.Audiences) != 2 ||
					r.Audiences[0].Read || !r.Audiences[1].Read {
					t.Errorf("bench %s: audiences read by their followers %+v (%v), want the second only", c.name, r.Audiences, err)
				}
			}
		})
	}
}
