package activitypub_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/activitypub"
)

func TestNewNodeInfo20(t *testing.T) {
	t.Parallel()
	m := roundTrip(t, activitypub.NewNodeInfo("2.0", "Alice's place", federation.Usage{Users: 42}, true))

	if got := str(t, m, "version"); got != "2.0" {
		t.Errorf("version = %q, want 2.0", got)
	}
	sw := obj(t, m, "software")
	if got := str(t, sw, "name"); got != activitypub.SoftwareName {
		t.Errorf("software.name = %q, want %q", got, activitypub.SoftwareName)
	}
	if got := str(t, sw, "version"); got != activitypub.SoftwareVersion {
		t.Errorf("software.version = %q, want %q", got, activitypub.SoftwareVersion)
	}
	// Schema 2.0 forbids additional software properties.
	for _, k := range []string{"repository", "homepage"} {
		if v, ok := sw[k]; ok {
			t.Errorf("software.%s = %v in a 2.0 document, want it absent", k, v)
		}
	}
	if !boolean(t, m, "openRegistrations") {
		t.Error("openRegistrations = false, want true")
	}
	checkCommonNodeInfo(t, m, 42, "Alice's place")
}

func TestNewNodeInfo21(t *testing.T) {
	t.Parallel()
	m := roundTrip(t, activitypub.NewNodeInfo("2.1", "Bob's", federation.Usage{Users: 0}, false))

	if got := str(t, m, "version"); got != "2.1" {
		t.Errorf("version = %q, want 2.1", got)
	}
	sw := obj(t, m, "software")
	if got := str(t, sw, "repository"); got != activitypub.SoftwareHome {
		t.Errorf("software.repository = %q, want %q", got, activitypub.SoftwareHome)
	}
	if got := str(t, sw, "homepage"); got != activitypub.SoftwareHome {
		t.Errorf("software.homepage = %q, want %q", got, activitypub.SoftwareHome)
	}
	for _, k := range []string{"repository", "homepage"} {
		if u, err := url.Parse(sw[k].(string)); err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("software.%s = %v is not an absolute https URL", k, sw[k])
		}
	}
	// false is emitted, not omitted: it is a required field.
	if boolean(t, m, "openRegistrations") {
		t.Error("openRegistrations = true, want false")
	}
	checkCommonNodeInfo(t, m, 0, "Bob's")
}

// checkCommonNodeInfo checks what 2.0 and 2.1 documents share.
func checkCommonNodeInfo(t *testing.T, m map[string]any, users int64, nodeName string) {
	t.Helper()
	sw := obj(t, m, "software")
	// The schema requires the name to match ^[a-z0-9-]+$.
	name := str(t, sw, "name")
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		t.Errorf("software.name %q does not match the NodeInfo pattern", name)
	}

	protocols, ok := m["protocols"].([]any)
	if !ok || !reflect.DeepEqual(protocols, []any{"activitypub"}) {
		t.Errorf("protocols = %v (%s), want [activitypub]", m["protocols"], jsonKind(m["protocols"]))
	}

	services := obj(t, m, "services")
	for _, k := range []string{"inbound", "outbound"} {
		v, ok := services[k]
		if !ok {
			t.Errorf("services.%s missing", k)
			continue
		}
		arr, ok := v.([]any)
		if !ok {
			t.Errorf("services.%s = %v (%s), want an array (never null)", k, v, jsonKind(v))
		} else if len(arr) != 0 {
			t.Errorf("services.%s = %v, want empty", k, arr)
		}
	}

	usage := obj(t, m, "usage")
	u := obj(t, usage, "users")
	total, ok := u["total"].(float64)
	if !ok {
		t.Fatalf("usage.users.total = %v (%s), want a number", u["total"], jsonKind(u["total"]))
	}
	if int64(total) != users {
		t.Errorf("usage.users.total = %v, want %d", total, users)
	}

	md := obj(t, m, "metadata")
	if got := str(t, md, "nodeName"); got != nodeName {
		t.Errorf("metadata.nodeName = %q, want %q", got, nodeName)
	}
}

func TestNewNodeInfoLargeUsage(t *testing.T) {
	t.Parallel()
	// Decode into our own type: an int64 count survives exactly.
	b, err := json.Marshal(activitypub.NewNodeInfo("2.0", "n", federation.Usage{Users: 1 << 40}, false))
	if err != nil {
		t.Fatal(err)
	}
	var ni activitypub.NodeInfo
	if err := json.Unmarshal(b, &ni); err != nil {
		t.Fatal(err)
	}
	if ni.Usage.Users.Total != 1<<40 {
		t.Errorf("usage.users.total = %d, want %d", ni.Usage.Users.Total, int64(1<<40))
	}
}

func TestNewNodeInfoShapeMatchesMastodon(t *testing.T) {
	t.Parallel()
	masto := decodeMap(t, readFixture(t, "mastodon/nodeinfo-2.0-mastodon-4.3.json"))
	ours := roundTrip(t, activitypub.NewNodeInfo("2.0", "Roost", federation.Usage{Users: 1}, true))
	// Same top-level keys, each with the same JSON type, one level deep.
	if len(ours) != len(masto) {
		t.Errorf("our keys %v, Mastodon's %v", keys(ours), keys(masto))
	}
	for k, mv := range masto {
		v, ok := ours[k]
		if !ok {
			t.Errorf("we lack Mastodon's key %q", k)
			continue
		}
		if jsonKind(v) != jsonKind(mv) {
			t.Errorf("%s: ours is %s, Mastodon's is %s", k, jsonKind(v), jsonKind(mv))
		}
		if o, ok := v.(map[string]any); ok {
			for nk, nv := range o {
				mnv, ok := mv.(map[string]any)[nk]
				if !ok {
					t.Errorf("%s.%s: Mastodon has no such key (misspelt?)", k, nk)
				} else if jsonKind(nv) != jsonKind(mnv) {
					t.Errorf("%s.%s: ours is %s, Mastodon's is %s", k, nk, jsonKind(nv), jsonKind(mnv))
				}
			}
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNewNodeInfoLinksMatchesMastodon(t *testing.T) {
	t.Parallel()
	var banana activitypub.NodeInfoLinks
	if err := json.Unmarshal(readFixture(t, "mastodon/nodeinfo-wellknown-banana-dog.json"), &banana); err != nil {
		t.Fatalf("decode fixture into NodeInfoLinks: %v", err)
	}
	ours := activitypub.NewNodeInfoLinks("https://banana.dog")
	if !reflect.DeepEqual(ours, &banana) {
		t.Errorf("NewNodeInfoLinks(https://banana.dog) = %+v, banana.dog serves %+v", *ours, banana)
	}

	// Same rels, in order, and hrefs on our base.
	ours = activitypub.NewNodeInfoLinks("http://localhost:8080")
	if len(ours.Links) != len(banana.Links) {
		t.Fatalf("%d links, banana.dog has %d", len(ours.Links), len(banana.Links))
	}
	wantHref := map[string]string{
		activitypub.NodeInfo20Schema: "http://localhost:8080/nodeinfo/2.0",
		activitypub.NodeInfo21Schema: "http://localhost:8080/nodeinfo/2.1",
	}
	for i, l := range ours.Links {
		if l.Rel != banana.Links[i].Rel {
			t.Errorf("links[%d].rel = %q, banana.dog's is %q", i, l.Rel, banana.Links[i].Rel)
		}
		if l.Href != wantHref[l.Rel] {
			t.Errorf("links[%d].href = %q, want %q", i, l.Href, wantHref[l.Rel])
		}
	}

	// Only rel and href are emitted, as in the fixture.
	m := roundTrip(t, activitypub.NewNodeInfoLinks("https://x.example"))
	for _, l := range m["links"].([]any) {
		lm := l.(map[string]any)
		if len(lm) != 2 || lm["rel"] == nil || lm["href"] == nil {
			t.Errorf("link %v, want exactly rel and href", lm)
		}
	}
}

// TestNodeInfoDecodesFixtures decodes other servers' NodeInfo into our
// type, proving field names and types agree.
func TestNodeInfoDecodesFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file         string
		version      string
		software     string
		users        int64
		open         bool
		nodeName     string
		protocols    []string
		outbound     []string
		wantHomepage string
	}{
		{"mastodon/nodeinfo-2.0-mastodon-4.3.json", "2.0", "mastodon", 2001387, true, "Mastodon", []string{"activitypub"}, []string{}, ""},
		{"pleroma/nodeinfo-2.0-pleroma-2.6.json", "2.0", "pleroma", 953, false, "Stereophonic", []string{"activitypub"}, []string{}, ""},
		{"pixelfed/nodeinfo-2.0.json", "2.0", "pixelfed", 116961, true, "pixelfed", []string{"activitypub"}, []string{}, ""},
		{"friendica/nodeinfo-2.0-multiprotocol.json", "2.0", "friendica", 0, true, "Social Gibiris (The #Friendica Edition)",
			[]string{"dfrn", "activitypub", "diaspora", "ostatus"}, []string{"bluesky", "smtp", "twitter", "atom1.0"}, ""},
		{"misskey/nodeinfo-2.1-sharkey-fork.json", "2.1", "sharkey", 1912, true, "Blåhaj Zone", []string{"activitypub"},
			[]string{"atom1.0", "rss2.0"}, "https://activitypub.software/TransFem-org/Sharkey"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var ni activitypub.NodeInfo
			if err := json.Unmarshal(readFixture(t, tt.file), &ni); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if ni.Version != tt.version {
				t.Errorf("Version = %q, want %q", ni.Version, tt.version)
			}
			if ni.Software.Name != tt.software {
				t.Errorf("Software.Name = %q, want %q", ni.Software.Name, tt.software)
			}
			if ni.Software.Version == "" {
				t.Error("Software.Version is empty")
			}
			if ni.Software.Homepage != tt.wantHomepage {
				t.Errorf("Software.Homepage = %q, want %q", ni.Software.Homepage, tt.wantHomepage)
			}
			if ni.Usage.Users.Total != tt.users {
				t.Errorf("Usage.Users.Total = %d, want %d", ni.Usage.Users.Total, tt.users)
			}
			if ni.OpenRegistrations != tt.open {
				t.Errorf("OpenRegistrations = %v, want %v", ni.OpenRegistrations, tt.open)
			}
			if got := ni.Metadata["nodeName"]; got != tt.nodeName {
				t.Errorf("Metadata[nodeName] = %v, want %q", got, tt.nodeName)
			}
			if !reflect.DeepEqual(ni.Protocols, tt.protocols) {
				t.Errorf("Protocols = %v, want %v", ni.Protocols, tt.protocols)
			}
			if ni.Services.Inbound == nil || ni.Services.Outbound == nil {
				t.Errorf("Services = %+v, want both decoded as non-nil slices", ni.Services)
			}
			if !reflect.DeepEqual(ni.Services.Outbound, tt.outbound) {
				t.Errorf("Services.Outbound = %v, want %v", ni.Services.Outbound, tt.outbound)
			}
		})
	}
}

// TestNodeInfoMetadataArray: Mastodon 4.0 rc served "metadata": [].
// Our map cannot hold it; encoding/json reports exactly that field and
// still decodes the rest.
func TestNodeInfoMetadataArray(t *testing.T) {
	t.Parallel()
	var ni activitypub.NodeInfo
	err := json.Unmarshal(readFixture(t, "mastodon/nodeinfo-2.0-mastodon-4.0-metadata-array.json"), &ni)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		t.Fatalf("decode error = %v, want a *json.UnmarshalTypeError for metadata", err)
	}
	if te.Field != "metadata" || te.Value != "array" {
		t.Errorf("type error on %q (%s), want metadata (array)", te.Field, te.Value)
	}
	if ni.Version != "2.0" || ni.Software.Name != "mastodon" || ni.Usage.Users.Total != 7 || ni.OpenRegistrations {
		t.Errorf("other fields not decoded: %+v", ni)
	}
	if len(ni.Metadata) != 0 {
		t.Errorf("Metadata = %v, want empty", ni.Metadata)
	}
}

// TestNodeInfoOpenRegistrationsString: Akkoma 3.0 served
// "openRegistrations": "FALSE". Only that field fails to decode.
func TestNodeInfoOpenRegistrationsString(t *testing.T) {
	t.Parallel()
	var ni activitypub.NodeInfo
	err := json.Unmarshal(readFixture(t, "pleroma/nodeinfo-2.0-akkoma-openregistrations-string.json"), &ni)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "openRegistrations" {
		t.Fatalf("decode error = %v, want a type error on openRegistrations", err)
	}
	if ni.Software.Name != "akkoma" || ni.Usage.Users.Total != 1 || ni.Metadata["nodeName"] != "HyNET Social" {
		t.Errorf("other fields not decoded: %+v", ni)
	}
}

// xrd is a generic XRD reader that keeps namespaces, to compare ours with
// another server's structurally.
type xrd struct {
	XMLName xml.Name
	Links   []struct {
		XMLName  xml.Name
		Rel      string `xml:"rel,attr"`
		Type     string `xml:"type,attr"`
		Template string `xml:"template,attr"`
		Href     string `xml:"href,attr"`
	} `xml:"Link"`
}

const xrdNS = "http://docs.oasis-open.org/ns/xri/xrd-1.0"

func TestNewHostMetaXML(t *testing.T) {
	t.Parallel()
	hm := activitypub.NewHostMeta("https://social.alice.example")
	b, err := xml.Marshal(hm)
	if err != nil {
		t.Fatal(err)
	}

	var doc xrd
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("our host-meta is not XML: %v\n%s", err, b)
	}
	if doc.XMLName != (xml.Name{Space: xrdNS, Local: "XRD"}) {
		t.Errorf("root = %+v, want XRD in %s\n%s", doc.XMLName, xrdNS, b)
	}
	if len(doc.Links) != 1 {
		t.Fatalf("%d Link elements, want 1\n%s", len(doc.Links), b)
	}
	l := doc.Links[0]
	if l.XMLName != (xml.Name{Space: xrdNS, Local: "Link"}) {
		t.Errorf("Link element = %+v, want Link in %s", l.XMLName, xrdNS)
	}
	if l.Rel != "lrdd" {
		t.Errorf("Link rel = %q, want lrdd", l.Rel)
	}
	if l.Href != "" {
		t.Errorf("Link href = %q, want none (a template link)", l.Href)
	}
	if want := "https://social.alice.example/.well-known/webfinger?resource={uri}"; l.Template != want {
		t.Errorf("Link template = %q, want %q", l.Template, want)
	}
	if !strings.HasSuffix(l.Template, "/.well-known/webfinger?resource={uri}") {
		t.Errorf("Link template %q does not end in the WebFinger query", l.Template)
	}
	if l.Type != activitypub.JRDContentType {
		t.Errorf("Link type = %q, want %q (what our WebFinger serves)", l.Type, activitypub.JRDContentType)
	}

	// The root declares its namespace exactly once.
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	tok, err := dec.Token()
	if err != nil {
		t.Fatal(err)
	}
	se, ok := tok.(xml.StartElement)
	if !ok {
		t.Fatalf("first token %T, want the root element", tok)
	}
	var xmlns int
	for _, a := range se.Attr {
		if a.Name.Local == "xmlns" && a.Name.Space == "" {
			xmlns++
			if a.Value != xrdNS {
				t.Errorf("xmlns = %q, want %q", a.Value, xrdNS)
			}
		}
	}
	if xmlns != 1 {
		t.Errorf("root has %d xmlns attributes, want 1: %s", xmlns, b)
	}
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("our host-meta is not well-formed: %v\n%s", err, b)
		}
	}
}

func TestHostMetaTemplateExpandsToWebFinger(t *testing.T) {
	t.Parallel()
	hm := activitypub.NewHostMeta("http://localhost:3000")
	resource := "acct:alice@alice.example"
	expanded := strings.ReplaceAll(hm.Links[0].Template, "{uri}", url.QueryEscape(resource))
	u, err := url.Parse(expanded)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Host != "localhost:3000" || u.Path != "/.well-known/webfinger" {
		t.Errorf("expanded template %q is not our WebFinger endpoint", expanded)
	}
	got := u.Query().Get("resource")
	if got != resource {
		t.Errorf("resource = %q, want %q", got, resource)
	}
	r, err := activitypub.ParseResource(got)
	if err != nil || r.Username != "alice" || r.Host != "alice.example" {
		t.Errorf("ParseResource(%q) = %+v, %v", got, r, err)
	}
}

// TestHostMetaMatchesMastodon compares our XRD with mastodon.social's.
func TestHostMetaMatchesMastodon(t *testing.T) {
	t.Parallel()
	raw := readFixture(t, "mastodon/host-meta-mastodon-social.xml")
	var theirs xrd
	if err := xml.Unmarshal(raw, &theirs); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	b, err := xml.Marshal(activitypub.NewHostMeta("https://mastodon.social"))
	if err != nil {
		t.Fatal(err)
	}
	var ours xrd
	if err := xml.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	if ours.XMLName != theirs.XMLName {
		t.Errorf("root %+v, Mastodon's %+v", ours.XMLName, theirs.XMLName)
	}
	if len(ours.Links) != len(theirs.Links) {
		t.Fatalf("%d links, Mastodon has %d", len(ours.Links), len(theirs.Links))
	}
	for i := range ours.Links {
		o, m := ours.Links[i], theirs.Links[i]
		if o.XMLName != m.XMLName || o.Rel != m.Rel || o.Template != m.Template || o.Href != m.Href {
			t.Errorf("link %d: ours %+v, Mastodon's %+v", i, o, m)
		}
		// The type differs on purpose: mastodon.social's dates from when
		// its WebFinger also served XRD; ours serves JRD only.
	}

	// Our own type reads Mastodon's document.
	var hm activitypub.HostMeta
	if err := xml.Unmarshal(raw, &hm); err != nil {
		t.Fatalf("decode fixture into HostMeta: %v", err)
	}
	if hm.XMLNS != xrdNS {
		t.Errorf("HostMeta.XMLNS = %q, want %q", hm.XMLNS, xrdNS)
	}
	if len(hm.Links) != 1 || hm.Links[0].Rel != "lrdd" ||
		hm.Links[0].Template != "https://mastodon.social/.well-known/webfinger?resource={uri}" {
		t.Errorf("HostMeta.Links = %+v", hm.Links)
	}
}

func TestNewHostMetaJSON(t *testing.T) {
	t.Parallel()
	// host-meta.json (RFC 6415 appendix A) from the same value.
	m := roundTrip(t, activitypub.NewHostMeta("https://x.example"))
	if len(m) != 1 {
		t.Errorf("host-meta.json keys %v, want only links", keys(m))
	}
	links, ok := m["links"].([]any)
	if !ok || len(links) != 1 {
		t.Fatalf("links = %v, want one link", m["links"])
	}
	l := links[0].(map[string]any)
	if l["rel"] != "lrdd" || l["template"] != "https://x.example/.well-known/webfinger?resource={uri}" {
		t.Errorf("link = %v", l)
	}
}
