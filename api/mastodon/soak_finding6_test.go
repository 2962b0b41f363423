package mastodon

import (
	"net/http"
	"testing"
)

// Soak finding 6 (seeds 709695347223938606, 6200840780907649189): under
// a loaded database, following an account answered 404 "Record not
// found" when loading the target failed (a connection timeout), and apps
// do not retry a 404: the follow was lost. Only a missing account is a
// 404; a store failure is a 5xx an app retries. Account 99's store fails.
func TestIssue19Finding6AccountActionStoreFailureIsNot404(t *testing.T) {
	r := newRig(nil)
	for _, path := range []string{"/api/v1/accounts/99/follow", "/api/v1/accounts/99/unfollow", "/api/v1/accounts/99/block"} {
		if code, body := r.do(t, "POST", path, ""); code != http.StatusInternalServerError {
			t.Errorf("%s with a failing store: %d %s; want 500", path, code, body)
		}
	}
	if code, _ := r.do(t, "POST", "/api/v1/accounts/12345/follow", ""); code != http.StatusNotFound {
		t.Errorf("follow of a missing account: %d; want 404", code)
	}
}
