package activitypub

import (
	"net/url"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// JRDContentType is WebFinger's media type (RFC 7033).
const JRDContentType = "application/jrd+json"

// Resource is what a WebFinger query asks about: a username on a host.
// Host is as written in the query; the caller normalises and matches it.
type Resource struct {
	Username string
	Host     string
}

// ParseResource reads a WebFinger resource: acct:user@host (also user@host
// and @user@host, as Mastodon accepts), or an actor or profile URL
// (https://host/users/user, https://host/@user).
func ParseResource(resource string) (Resource, error) {
	if resource == "" {
		return Resource{}, errs.E(errs.Invalid, "the resource parameter is required")
	}
	if len(resource) > 512 {
		return Resource{}, errs.E(errs.Invalid, "resource is too long")
	}
	if hasPrefixFold(resource, "https://") || hasPrefixFold(resource, "http://") {
		return parseURLResource(resource)
	}
	acct := resource
	if hasPrefixFold(acct, "acct:") {
		acct = acct[len("acct:"):]
	}
	acct = strings.TrimPrefix(acct, "@")
	user, host, ok := strings.Cut(acct, "@")
	if !ok || user == "" || host == "" || strings.ContainsAny(host, "@/?#\\") ||
		hasControlOrSpace(user) || hasControlOrSpace(host) || strings.ContainsAny(user, ":/") {
		return Resource{}, errs.E(errs.Invalid, "resource must look like acct:user@domain")
	}
	return Resource{Username: user, Host: host}, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasControlOrSpace reports bytes that never belong in a user or host.
func hasControlOrSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

func parseURLResource(resource string) (Resource, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Resource{}, errs.E(errs.Invalid, "resource is not a valid actor URL")
	}
	p := u.Path
	var user string
	switch {
	case strings.HasPrefix(p, "/users/"):
		user = p[len("/users/"):]
	case strings.HasPrefix(p, "/@"):
		user = p[len("/@"):]
	default:
		return Resource{}, errs.E(errs.NotFound, "resource is not an actor URL of this server")
	}
	if strings.Contains(user, "/") || user == "" || hasControlOrSpace(user) {
		return Resource{}, errs.E(errs.NotFound, "resource is not an actor URL of this server")
	}
	return Resource{Username: user, Host: u.Host}, nil
}

// JRD is a WebFinger JSON Resource Descriptor.
type JRD struct {
	Subject string   `json:"subject"`
	Aliases []string `json:"aliases,omitempty"`
	Links   []Link   `json:"links"`
}

// Link is one JRD link.
type Link struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// NewJRD describes a local account. The subject always names the handle
// domain, whichever of the tenant's hosts was asked, so remote servers
// store the handle the owner chose.
func NewJRD(a *federation.Account, links federation.Links) *JRD {
	return &JRD{
		Subject: "acct:" + a.Username + "@" + a.Domain,
		Aliases: []string{links.Profile(a.Username), links.Actor(a.Username)},
		Links: []Link{
			{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: links.Profile(a.Username)},
			{Rel: "self", Type: ContentType, Href: links.Actor(a.Username)},
		},
	}
}

// NewInstanceJRD describes the site's instance actor, named as Mastodon
// names its own (acct:<host>@<host>): servers that check a signer by
// WebFinger before trusting its signature (GoToSocial, Mastodon) look up
// preferredUsername@host of the key's owner, and the instance actor signs
// every fetch made on the site's behalf. host is the actor host, the
// instance actor's preferredUsername.
func NewInstanceJRD(host string, links federation.Links) *JRD {
	actor := links.InstanceActor()
	return &JRD{
		Subject: "acct:" + host + "@" + host,
		Aliases: []string{actor},
		Links: []Link{
			{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: links.Base},
			{Rel: "self", Type: ContentType, Href: actor},
		},
	}
}
