package delivery

import (
	"testing"

	"github.com/roost-social/roost/federation/signature"
)

// Issue 21: the rows of one activity are signed with one digest of its
// body, computed once; another body (another activity, or the same id
// with other bytes) gets its own.
func TestIssue21BodyDigestOncePerActivity(t *testing.T) {
	var c digests
	body := []byte(`{"type":"Create"}`)
	first := c.of("http://a.example/act/1", body)
	again := c.of("http://a.example/act/1", append([]byte(nil), body...)) // another row's copy
	if first != again {
		t.Fatal("the activity's body was hashed again for its second delivery")
	}
	if *first != *signature.DigestOf(body) {
		t.Fatal("wrong digest")
	}
	other := c.of("http://a.example/act/1", []byte(`{"type":"Update"}`))
	if other == first || *other != *signature.DigestOf([]byte(`{"type":"Update"}`)) {
		t.Fatal("a different body under the same id reused the old digest")
	}
	if empty := c.of("http://a.example/act/2", nil); empty == nil || *empty != *signature.DigestOf([]byte{}) {
		t.Fatal("a nil body is sent empty and must be signed as such")
	}
}
