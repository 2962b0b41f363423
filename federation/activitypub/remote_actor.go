package activitypub

import (
	"github.com/roost-social/roost/internal/text"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// actorTypes are the ActivityStreams actor types we accept.
var actorTypes = []string{"Person", "Service", "Application", "Group", "Organization"}

// ParseActor reads a remote actor document into an Account (TenantID zero).
// It requires an absolute id, an inbox, and a public key owned by the actor
// on the actor's own host (its publicKey, else a FEP-521a multikey);
// remote HTML is sanitised. now stamps FetchedAt.
func ParseActor(doc []byte, now time.Time) (*federation.Account, error) {
	return ParseActorKey(doc, "", now)
}

// ParseActorKey is ParseActor for the owner of a signing key: the Account
// carries keyID (found under publicKey or assertionMethod, owned by the
// actor, on its origin) rather than the actor's first key. keyID "" picks
// the first key.
func ParseActorKey(doc []byte, keyID string, now time.Time) (*federation.Account, error) {
	m, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	id := str(m, "id")
	u := absURL(id)
	if u == nil {
		return nil, errs.E(errs.Invalid, "actor id is not an absolute URL")
	}
	if !hasType(m, actorTypes...) {
		return nil, errs.E(errs.Invalid, "document is not an actor (type %v)", types(m))
	}
	inbox := idOf(m["inbox"])
	if absURL(inbox) == nil {
		return nil, errs.E(errs.Invalid, "actor has no valid inbox")
	}
	key, err := pickKey(m, id, keyID)
	if err != nil {
		return nil, err
	}
	username := str(m, "preferredUsername")
	if username == "" || len(username) > 200 || strings.ContainsAny(username, "@/ \t\n") {
		return nil, errs.E(errs.Invalid, "actor has no valid preferredUsername")
	}
	endpoints, _ := m["endpoints"].(map[string]any)
	shared := ""
	if endpoints != nil {
		shared = idOf(endpoints["sharedInbox"])
		if absURL(shared) == nil {
			shared = ""
		}
	}
	a := &federation.Account{
		Domain:       strings.ToLower(u.Hostname()),
		Username:     username,
		DisplayName:  text.Cut(str(m, "name"), 1000),
		Note:         text.Cut(SanitizeHTML(str(m, "summary")), 100000),
		AvatarURL:    validURL(idOf(m["icon"])),
		HeaderURL:    validURL(idOf(m["image"])),
		Locked:       boolean(m, "manuallyApprovesFollowers"),
		Discoverable: boolean(m, "discoverable"),
		Bot:          hasType(m, "Service", "Application"),
		PublicKeyPEM: key.PEM,
		Remote: &federation.RemoteInfo{
			URI:         id,
			KeyID:       key.ID,
			URL:         validURL(idOf(m["url"])),
			Inbox:       inbox,
			SharedInbox: shared,
			Outbox:      validURL(idOf(m["outbox"])),
			Followers:   validURL(idOf(m["followers"])),
			Following:   validURL(idOf(m["following"])),
			Type:        types(m)[0],
			FetchedAt:   now,
			AlsoKnownAs: ids(m["alsoKnownAs"]),
			MovedTo:     validURL(idOf(m["movedTo"])),
			Emojis:      ParseEmojis(m["tag"]), // emojis.go
		},
	}
	return a, nil
}

func validURL(s string) string {
	if absURL(s) == nil {
		return ""
	}
	return s
}
