package activitypub

import (
	"encoding/xml"

	"github.com/roost-social/roost/federation"
)

// Software identifies Roost in NodeInfo and User-Agent headers.
var (
	SoftwareName    = "roost"
	SoftwareVersion = "0.1.0"
	SoftwareHome    = "https://github.com/roost-social/roost"
)

// NodeInfo schema URIs and their profile-qualified content types.
const (
	NodeInfo20Schema = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	NodeInfo21Schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
)

// NodeInfoLinks is the /.well-known/nodeinfo discovery document.
type NodeInfoLinks struct {
	Links []Link `json:"links"`
}

// NewNodeInfoLinks points at both NodeInfo versions on base.
func NewNodeInfoLinks(base string) *NodeInfoLinks {
	return &NodeInfoLinks{Links: []Link{
		{Rel: NodeInfo20Schema, Href: base + "/nodeinfo/2.0"},
		{Rel: NodeInfo21Schema, Href: base + "/nodeinfo/2.1"},
	}}
}

// NodeInfo is a NodeInfo 2.0 or 2.1 document.
type NodeInfo struct {
	Version           string           `json:"version"`
	Software          NodeInfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          NodeInfoServices `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             NodeInfoUsage    `json:"usage"`
	Metadata          map[string]any   `json:"metadata"`
}

// NodeInfoSoftware names the server software; repository and homepage are
// 2.1 additions.
type NodeInfoSoftware struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Repository string `json:"repository,omitempty"`
	Homepage   string `json:"homepage,omitempty"`
}

// NodeInfoServices lists third-party services bridged (none).
type NodeInfoServices struct {
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

// NodeInfoUsage reports the tenant's own numbers, never the instance's.
type NodeInfoUsage struct {
	Users NodeInfoUsers `json:"users"`
}

// NodeInfoUsers counts accounts.
type NodeInfoUsers struct {
	Total int64 `json:"total"`
}

// NewNodeInfo builds the document for version "2.0" or "2.1" describing
// one tenant.
func NewNodeInfo(version, nodeName string, u federation.Usage, openRegistrations bool) *NodeInfo {
	sw := NodeInfoSoftware{Name: SoftwareName, Version: SoftwareVersion}
	if version == "2.1" {
		sw.Repository, sw.Homepage = SoftwareHome, SoftwareHome
	}
	return &NodeInfo{
		Version:           version,
		Software:          sw,
		Protocols:         []string{"activitypub"},
		Services:          NodeInfoServices{Inbound: []string{}, Outbound: []string{}},
		OpenRegistrations: openRegistrations,
		Usage:             NodeInfoUsage{Users: NodeInfoUsers{Total: u.Users}},
		Metadata:          map[string]any{"nodeName": nodeName},
	}
}

// HostMeta is the XRD host-meta document (RFC 6415) pointing at WebFinger.
type HostMeta struct {
	XMLName xml.Name       `xml:"XRD" json:"-"`
	XMLNS   string         `xml:"xmlns,attr" json:"-"`
	Links   []HostMetaLink `xml:"Link" json:"links"`
}

// HostMetaLink is the lrdd template link.
type HostMetaLink struct {
	Rel      string `xml:"rel,attr" json:"rel"`
	Type     string `xml:"type,attr,omitempty" json:"type,omitempty"`
	Template string `xml:"template,attr" json:"template"`
}

// NewHostMeta points host-meta at base's WebFinger endpoint.
func NewHostMeta(base string) *HostMeta {
	return &HostMeta{
		XMLNS: "http://docs.oasis-open.org/ns/xri/xrd-1.0",
		Links: []HostMetaLink{{Rel: "lrdd", Type: "application/jrd+json", Template: base + "/.well-known/webfinger?resource={uri}"}},
	}
}
