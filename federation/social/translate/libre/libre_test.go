package libre_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/social/translate"
	"github.com/roost-social/roost/federation/social/translate/libre"
	"github.com/roost-social/roost/internal/errs"
)

// A fake LibreTranslate on loopback, reached as translate.test through
// the safe client's resolve list, as an operator reaches a private one.

type fakeLibre struct {
	languages atomic.Int32
	last      map[string]any
	status    int
	answer    string
}

func (f *fakeLibre) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == "/languages":
		f.languages.Add(1)
		_, _ = w.Write([]byte(`[{"code":"en","name":"English","targets":["de","en","es"]},{"code":"es","name":"Spanish","targets":["en"]}]`))
	case r.Method == "POST" && r.URL.Path == "/translate":
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"error":"not json"}`, http.StatusBadRequest)
			return
		}
		f.last = map[string]any{}
		_ = json.NewDecoder(r.Body).Decode(&f.last)
		if f.status != 0 {
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte(f.answer))
			return
		}
		var out []string
		for _, q := range f.last["q"].([]any) {
			out = append(out, "ES "+q.(string))
		}
		b, _ := json.Marshal(map[string]any{"translatedText": out,
			"detectedLanguage": []map[string]any{{"confidence": 90, "language": "en"}}})
		_, _ = w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

type views struct{}

var posts = map[int64]*federation.Status{
	1: {ID: 1, Visibility: federation.Public, Language: "en", Content: `<p>hello <a href="https://x.test">you</a></p>`,
		Summary: "cats & dogs", Poll: &federation.Poll{Options: []federation.PollOption{{Title: "yes"}, {Title: "no"}}},
		Attachments: []federation.Attachment{{Description: "a cat"}, {}}},
	2: {ID: 2, Visibility: federation.Private, Content: "<p>secret</p>"},
	3: {ID: 3, Visibility: federation.Public, Language: "es", Content: "<p>hola</p>"},
}

// StatusViews: viewer 10 sees every post, anyone else none.
func (views) StatusViews(_ context.Context, viewer int64, ids []int64) ([]*federation.StatusView, error) {
	if p, ok := posts[ids[0]]; ok && viewer == 10 {
		return []*federation.StatusView{{Status: p}}, nil
	}
	return nil, nil
}

func newService(t *testing.T, f *fakeLibre, now *time.Time) *translate.Service {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr).String()
	client := fetch.New(fetch.Config{Resolve: map[string]string{"translate.test": "http://" + addr}, MaxBody: 4096, Timeout: 5 * time.Second})
	return &translate.Service{Provider: &libre.Client{URL: "http://translate.test/", Key: "k", HTTP: client},
		Views: views{}, Now: func() time.Time { return *now }}
}

func TestIssue17TranslateThroughLibreTranslate(t *testing.T) {
	ctx := context.Background()
	f := &fakeLibre{}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newService(t, f, &now)
	tr, err := s.Status(ctx, 10, 1, "es-MX")
	if err != nil {
		t.Fatal(err)
	}
	if f.last["source"] != "en" || f.last["target"] != "es" || f.last["format"] != "html" || f.last["api_key"] != "k" {
		t.Errorf("request: %v", f.last)
	}
	if q := f.last["q"].([]any); len(q) != 5 || q[1] != "cats &amp; dogs" {
		t.Errorf("texts sent: %q", q)
	}
	if !strings.HasPrefix(tr.Content, "ES <p>hello") || tr.SpoilerText != "ES cats & dogs" || tr.Language != "es" ||
		tr.Detected != "en" || tr.Provider != "LibreTranslate" || len(tr.PollOptions) != 2 || tr.PollOptions[1] != "ES no" ||
		len(tr.MediaDescriptions) != 2 || tr.MediaDescriptions[0] != "ES a cat" || tr.MediaDescriptions[1] != "" {
		t.Errorf("translation: %+v", tr)
	}

	// The provider's HTML is sanitised as remote HTML is.
	f.status, f.answer = 200, `{"translatedText":["<p>hola</p><script>alert(1)</script>","x","a","b","c"]}`
	if tr, err = s.Status(ctx, 10, 1, "es"); err != nil || strings.Contains(tr.Content, "script") {
		t.Errorf("unsafe HTML kept: %+v %v", tr, err)
	}
	for _, c := range []struct {
		name       string
		viewer, id int64
		lang       string
		status     int
		answer     string
		code       errs.Code
	}{
		{"a private post", 10, 2, "es", 0, "", errs.Forbidden},
		{"into its own language", 10, 3, "es", 0, "", errs.Forbidden},
		{"a post not seen", 20, 1, "es", 0, "", errs.NotFound},
		{"no such post", 10, 9, "es", 0, "", errs.NotFound},
		{"a bad language", 10, 1, "español", 0, "", errs.Invalid},
		{"unsupported by the provider", 10, 1, "xx", 400, `{"error":"xx is not supported"}`, errs.Invalid},
		{"the provider failing", 10, 1, "de", 500, `{"error":"boom"}`, errs.Unavailable},
		{"an answer over the cap", 10, 1, "de", 200, `{"translatedText":"` + strings.Repeat("a", 5000) + `"}`, errs.Unavailable},
		{"a short answer", 10, 1, "de", 200, `{"translatedText":"only one"}`, errs.Unavailable},
	} {
		f.status, f.answer = c.status, c.answer
		if _, err := s.Status(ctx, c.viewer, c.id, c.lang); errs.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
}

func TestIssue17TranslationLanguagesCachedAndOff(t *testing.T) {
	ctx := context.Background()
	f := &fakeLibre{}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newService(t, f, &now)
	for range 3 {
		langs, err := s.Languages(ctx)
		if err != nil || len(langs["en"]) != 2 || langs["en"][0] != "de" || langs["es"][0] != "en" {
			t.Fatalf("languages: %v %v", langs, err)
		}
	}
	if n := f.languages.Load(); n != 1 {
		t.Errorf("asked the provider %d times within the TTL", n)
	}
	now = now.Add(translate.LanguagesTTL + time.Second)
	if _, err := s.Languages(ctx); err != nil || f.languages.Load() != 2 {
		t.Errorf("after the TTL: %v, asked %d times", err, f.languages.Load())
	}

	var off *translate.Service
	if off.Enabled() {
		t.Error("a nil service is enabled")
	}
	off = &translate.Service{Views: views{}}
	if langs, err := off.Languages(ctx); err != nil || len(langs) != 0 {
		t.Errorf("off: %v %v", langs, err)
	}
	if _, err := off.Status(ctx, 10, 1, "es"); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("off: %v, want unavailable", err)
	}
}
