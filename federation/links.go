package federation

import (
	"strconv"
)

// Links builds the URLs Roost issues for a host. Actor URIs are keys other
// servers store: the shapes here must never change.
type Links struct {
	Base string // scheme://host[:port], no trailing slash
}

// NewLinks returns Links for host; port 0 means the scheme's default.
func NewLinks(scheme, host string, port int) Links {
	base := scheme + "://" + host
	if port != 0 && !(scheme == "https" && port == 443) && !(scheme == "http" && port == 80) {
		base += ":" + strconv.Itoa(port)
	}
	return Links{Base: base}
}

// Actor is the actor's id.
func (l Links) Actor(username string) string { return l.Base + "/users/" + username }

// Key is the id of the actor's public key.
func (l Links) Key(username string) string { return l.Actor(username) + "#main-key" }

// Profile is the actor's HTML profile page.
func (l Links) Profile(username string) string { return l.Base + "/@" + username }

// Inbox is the actor's personal inbox.
func (l Links) Inbox(username string) string { return l.Actor(username) + "/inbox" }

// Outbox is the actor's outbox collection.
func (l Links) Outbox(username string) string { return l.Actor(username) + "/outbox" }

// Followers is the actor's followers collection.
func (l Links) Followers(username string) string { return l.Actor(username) + "/followers" }

// Following is the actor's following collection.
func (l Links) Following(username string) string { return l.Actor(username) + "/following" }

// Featured is the actor's pinned-posts collection.
func (l Links) Featured(username string) string { return l.Actor(username) + "/collections/featured" }

// FeaturedTags is the actor's featured-hashtags collection.
func (l Links) FeaturedTags(username string) string { return l.Actor(username) + "/collections/tags" }

// SharedInbox is the host's shared inbox.
func (l Links) SharedInbox() string { return l.Base + "/inbox" }

// InstanceActor is the site's instance actor, which signs fetches made on
// behalf of the site.
func (l Links) InstanceActor() string { return l.Base + "/actor" }
