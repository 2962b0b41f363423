package webapp

import "testing"

// Issue 18: the web app returns only to paths of its own site (no open
// redirect), whatever the sign-in form or an action form is given.
func TestIssue18SafeReturn(t *testing.T) {
	for ret, want := range map[string]string{
		"/notifications":                 "/notifications",
		"/home?max_id=5":                 "/home?max_id=5",
		"/tags/roost":                    "/tags/roost",
		"":                               "/home",
		"//evil.example/x":               "/home",
		"/\\evil.example":                "/home",
		"https://evil.example/":          "/home",
		"javascript:alert(1)":            "/home",
		"evil.example":                   "/home",
		"/ok\r\nSet-Cookie: x=1":         "/home",
		"/\tevil":                        "/home",
		"/" + string(make([]byte, 2001)): "/home",
	} {
		if got := safeReturn(ret, "/home"); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", ret, got, want)
		}
	}
}

// The client API's Link header gives the screens' next page; nothing but
// digits reaches a path.
func TestNextMaxID(t *testing.T) {
	for link, want := range map[string]string{
		`<https://a.example/api/v1/timelines/home?max_id=42>; rel="next", <https://a.example/api/v1/timelines/home?min_id=50>; rel="prev"`: "42",
		`<https://a.example/api/v1/timelines/home?min_id=50>; rel="prev"`:                                                                  "",
		`<https://a.example/x?max_id=4%2F..%2Fdelete>; rel="next"`:                                                                         "",
		``: "",
	} {
		if got := nextMaxID(link); got != want {
			t.Errorf("nextMaxID(%q) = %q, want %q", link, got, want)
		}
	}
	for id, ok := range map[string]bool{"1": true, "1234567890123456789": true, "": false, "1a": false, "-1": false, "12345678901234567890": false, "../1": false} {
		if validID(id) != ok {
			t.Errorf("validID(%q) = %v", id, !ok)
		}
	}
}
