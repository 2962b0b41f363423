package bench

import (
	"bytes"
	"crypto"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
)

// The compare benchmark's load generator sends the serialised request
// again and again on keep-alive connections, redials a connection the
// server closes, and counts only 200s as served (the rest by status).
func TestBenchCompareHammerCountsAnswers(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "roost.test" || r.Header.Get("User-Agent") != compareUA {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch i := n.Add(1); {
		case i%10 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case i%7 == 0:
			w.Header().Set("Connection", "close")
			w.Write([]byte("closing"))
		default:
			w.Write([]byte(strings.Repeat("x", 3000)))
		}
	}))
	defer srv.Close()
	req, err := compareRequest("instance", &compareServer{host: "roost.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHammer(strings.TrimPrefix(srv.URL, "http://"), req, 4)
	if err != nil {
		t.Fatal(err)
	}
	res := h.run(300 * time.Millisecond)
	st := res.stats("0.5")
	total := int(n.Load())
	if total < 20 {
		t.Fatalf("only %d requests reached the server", total)
	}
	if st.Status["503"] == 0 || st.Status["400"] != 0 {
		t.Fatalf("non-200s: %v", st.Status)
	}
	if st.Requests+st.Status["503"] != total {
		t.Fatalf("200s %d + 503s %d != %d requests served", st.Requests, st.Status["503"], total)
	}
	if st.RPS <= 0 || st.P50 <= 0 || st.P99 < st.P50 || st.Load1 != "0.5" {
		t.Fatalf("stats: %+v", st)
	}
}

// Every endpoint's request carries what its server needs: a User-Agent
// (GoToSocial answers 418 without), a signature on the actor GET, the
// token on the home timeline.
func TestBenchCompareRequests(t *testing.T) {
	t.Parallel()
	key := testKey(t)
	s := &compareServer{host: "gts.test", token: "tok"}
	for _, e := range CompareEndpoints {
		r, err := compareRequest(e.Name, s, key)
		if err != nil {
			t.Fatal(err)
		}
		if r.Host != "gts.test" || r.Header.Get("User-Agent") == "" {
			t.Errorf("%s: host %q, UA %q", e.Name, r.Host, r.Header.Get("User-Agent"))
		}
		if (e.Name == "actor") != (r.Header.Get("Signature") != "") {
			t.Errorf("%s: signature %q", e.Name, r.Header.Get("Signature"))
		}
		if (e.Name == "home_timeline") != (r.Header.Get("Authorization") == "Bearer tok") {
			t.Errorf("%s: authorization %q", e.Name, r.Header.Get("Authorization"))
		}
	}
	if _, err := compareRequest("nope", s, key); err == nil {
		t.Fatal("an unknown endpoint was accepted")
	}
}

// The table names every endpoint with both servers' figures, the ratio,
// the target and the load of each run; an endpoint one server was not
// measured on says so.
func TestBenchCompareTable(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	writeCompareTable(&b, []CompareRow{
		{Endpoint: "webfinger", GoToSocial: &runStats{RPS: 1000, P50: 1.5, P99: 4, Load1: "1.10"},
			Roost: &runStats{RPS: 2500, P50: 0.5, P99: 2, Load1: "1.20"}, Ratio: 2.5, Target: 1.5},
		{Endpoint: "actor", Roost: &runStats{RPS: 10, Errors: 3, Status: map[string]int{"500": 3}, Load1: "2.00"}, Target: 1.5},
	})
	out := b.String()
	for _, want := range []string{"| webfinger | 1000 (1.50 / 4.00) | 2500 (0.50 / 2.00) | 2.50 | 1.5 | 1.10, 1.20 |",
		"| actor | not measured | 10 (0.00 / 0.00), 3 errors map[500:3] | - | 1.5 | -, 2.00 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func testKey(t *testing.T) crypto.PrivateKey {
	t.Helper()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	k, err := signature.ParsePrivateKeyPEM(kp.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
