package activitypub

import (
	"encoding/json"
	"github.com/roost-social/roost/internal/text"
	"slices"

	"github.com/roost-social/roost/internal/errs"
)

// Activity is the envelope of an incoming activity. It says nothing about
// whether the activity is authentic or allowed: the caller checks the
// actor against the signer and the object against the actor.
type Activity struct {
	ID, Type, Actor string
	Object          any    // raw object value (string id, map, or array)
	ObjectID        string // id of the object (string or embedded; the first of an array), "" when absent or not an absolute URL
	ObjectType      string // type of an embedded object ("" when only an id)
	ObjectDoc       []byte // the embedded object re-marshalled as JSON (nil when only an id)
	Target          string
	To, Cc          []string
}

// notActivityTypes are object types that are never activities, so a post
// or actor document (Pleroma's Notes carry an "actor") is not taken for one.
var notActivityTypes = slices.Concat(postTypes, actorTypes, []string{
	"Tombstone", "Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage",
	"Document", "Link", "Mention", "Hashtag", "Emoji", "Key", "CryptographicKey", "PropertyValue",
})

// ParseActivity reads an activity (Create, Update, Delete, Follow, Accept,
// Reject, Undo, Announce, Like, EmojiReact, Block, Move, Flag, Add, Remove,
// or any other type that is not a known object type). It requires a type
// and an actor (a string, an object or an array: the first) that is an
// absolute http(s) URL. The id may be empty, since transient activities
// (GoToSocial's Deletes) carry none, but when present it must be an
// absolute URL. to and cc are read as in ParseStatus; an object or target
// that is not an absolute URL leaves ObjectID or Target empty.
func ParseActivity(doc []byte) (*Activity, error) {
	m, err := decodeObject(doc)
	if err != nil {
		return nil, err
	}
	ts := types(m)
	if len(ts) == 0 || ts[0] == "" {
		return nil, errs.E(errs.Invalid, "activity has no type")
	}
	if hasType(m, notActivityTypes...) {
		return nil, errs.E(errs.Invalid, "document is not an activity (type %v)", ts)
	}
	id := str(m, "id")
	if id != "" && absURL(id) == nil {
		return nil, errs.E(errs.Invalid, "activity id is not an absolute URL")
	}
	actor := idOf(m["actor"])
	if absURL(actor) == nil {
		return nil, errs.E(errs.Invalid, "activity has no valid actor")
	}
	a := &Activity{
		ID:     id,
		Type:   text.Cut(ts[0], 200),
		Actor:  actor,
		Object: m["object"],
		Target: validURL(idOf(m["target"])),
		To:     addresses(m["to"]),
		Cc:     addresses(m["cc"]),
	}
	switch o := m["object"].(type) {
	case string:
		a.ObjectID = validURL(o)
	case []any:
		a.ObjectID = validURL(idOf(o))
	case map[string]any:
		a.ObjectID = validURL(str(o, "id"))
		if ot := types(o); len(ot) > 0 {
			a.ObjectType = ot[0]
		}
		if b, err := json.Marshal(o); err == nil {
			a.ObjectDoc = b
		}
	}
	return a, nil
}
