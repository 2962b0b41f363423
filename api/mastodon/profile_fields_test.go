package mastodon

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
)

// TestIssue17ProfileFieldsAndSourceEveryEncoding: PATCH
// update_credentials reads fields_attributes in each encoding Mastodon
// accepts — a JSON list, a JSON object keyed by index, form keys
// fields_attributes[][name] and fields_attributes[0][name] (urlencoded
// and multipart) — and source[privacy|sensitive|language] in JSON and
// forms; the stored update carries exactly what was sent.
func TestIssue17ProfileFieldsAndSourceEveryEncoding(t *testing.T) {
	want := []federation.Field{{Name: "Web", Value: "https://a.example"}, {Name: "Pronouns", Value: "they"}}
	const form = "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, contentType, body string
	}{
		{"JSON list", "application/json", `{"fields_attributes":[{"name":"Web","value":"https://a.example"},{"name":"Pronouns","value":"they"}],
			"source":{"privacy":"unlisted","sensitive":true,"language":"de"}}`},
		{"JSON object by index", "application/json", `{"fields_attributes":{"0":{"name":"Web","value":"https://a.example"},"1":{"name":"Pronouns","value":"they"}},
			"source":{"privacy":"unlisted","sensitive":"true","language":"de"}}`},
		{"form fields_attributes[][name]", form, "fields_attributes[][name]=Web&fields_attributes[][value]=https%3A%2F%2Fa.example" +
			"&fields_attributes[][name]=Pronouns&fields_attributes[][value]=they&source[privacy]=unlisted&source[sensitive]=1&source[language]=de"},
		{"form fields_attributes[0][name]", form, "fields_attributes[0][name]=Web&fields_attributes[0][value]=https%3A%2F%2Fa.example" +
			"&fields_attributes[1][name]=Pronouns&fields_attributes[1][value]=they&source[privacy]=unlisted&source[sensitive]=true&source[language]=de"},
		{"multipart fields_attributes[][name]", "multipart", "fields_attributes[][name]=Web&fields_attributes[][value]=https://a.example" +
			"&fields_attributes[][name]=Pronouns&fields_attributes[][value]=they&source[privacy]=unlisted&source[sensitive]=true&source[language]=de"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newARFixture(t)
			ct, body := c.contentType, []byte(c.body)
			if ct == "multipart" {
				ct, body = multipartBody(t, c.body)
			}
			req, _ := http.NewRequest("PATCH", "https://a.example/api/v1/accounts/update_credentials", bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer alice")
			res, err := f.app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || len(f.store.profile) != 1 {
				t.Fatalf("%d %s (%d updates)", res.StatusCode, b, len(f.store.profile))
			}
			u := f.store.profile[0]
			if u.Fields == nil || !reflect.DeepEqual(*u.Fields, want) {
				t.Errorf("fields: %+v", u.Fields)
			}
			if u.DefaultPrivacy == nil || *u.DefaultPrivacy != federation.Unlisted || u.DefaultSensitive == nil || !*u.DefaultSensitive ||
				u.DefaultLanguage == nil || *u.DefaultLanguage != "de" {
				t.Errorf("source: privacy %v sensitive %v language %v", u.DefaultPrivacy, u.DefaultSensitive, u.DefaultLanguage)
			}
		})
	}
	// Fields not sent stay as they are; an empty JSON list clears them.
	for body, fields := range map[string]*[]federation.Field{`{"display_name":"A"}`: nil, `{"fields_attributes":[]}`: {}} {
		f := newARFixture(t)
		req, _ := http.NewRequest("PATCH", "https://a.example/api/v1/accounts/update_credentials", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer alice")
		if res, err := f.app.Test(req, -1); err != nil || res.StatusCode != 200 || len(f.store.profile) != 1 {
			t.Fatalf("%s: %v %v", body, res, err)
		}
		if got := f.store.profile[0].Fields; (got == nil) != (fields == nil) || (got != nil && len(*got) != 0) {
			t.Errorf("%s: fields %+v", body, got)
		}
	}
}

// multipartBody encodes urlencoded-style pairs as a multipart form.
func multipartBody(t *testing.T, pairs string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range strings.Split(pairs, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}
