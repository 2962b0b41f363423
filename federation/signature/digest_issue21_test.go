package signature

import "testing"

// Issue 21: a fan-out hashes its body once and signs every delivery with
// that digest. SignDigest must sign and set exactly what SignWith does
// with the body itself, in both schemes and for a request without a body.
func TestIssue21SignDigestSignsAsTheBody(t *testing.T) {
	for _, s := range []Scheme{Cavage, RFC9421} {
		for _, body := range [][]byte{activity, nil} {
			withBody, withDigest := newPost(t), newPost(t)
			withBody.Header.Set("Accept", "application/activity+json")
			withDigest.Header.Set("Accept", "application/activity+json")
			if err := SignWith(s, withBody, body, testKeyID, testKey(), t0); err != nil {
				t.Fatal(err)
			}
			if err := SignDigest(s, withDigest, DigestOf(body), testKeyID, testKey(), t0); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Signature", "Signature-Input", "Digest", "Content-Digest", "Date"} {
				if a, b := withBody.Header.Get(h), withDigest.Header.Get(h); a != b {
					t.Errorf("%s, body %t: %s %q with the body, %q with its digest", s, body != nil, h, a, b)
				}
			}
			if body == nil {
				continue // an inbox refuses a POST without a digest; the headers are what is compared
			}
			if err := checkAndVerify(toServer(t, withDigest, body), body, t0, &testKey().PublicKey); err != nil {
				t.Errorf("%s, body %t: %v", s, body != nil, err)
			}
		}
	}
	if DigestOf(nil) != nil {
		t.Error("a request without a body has a digest")
	}
	if DigestOf([]byte{}) == nil {
		t.Error("an empty body has no digest")
	}
}
