package activitypub

import (
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/text"
)

// RemoteKey is one public key an actor document lists as its own.
type RemoteKey struct {
	ID    string // the keyId signatures name
	Owner string // the actor controlling it
	PEM   string // PKIX or PKCS#1 PEM; multikeys are converted
}

// Key shapes in the wild, all read here:
//   - Mastodon, Misskey, Pleroma/Akkoma, Lemmy, PeerTube and most others:
//     publicKey embedded in the actor, keyId "<actor>#main-key";
//   - GoToSocial: keyId "<actor>/main-key", which serves a stub (id,
//     preferredUsername, publicKey; no inbox) whose owner is the actor;
//   - standalone key documents (Key, CryptographicKey) with owner and
//     publicKeyPem;
//   - FEP-521a: assertionMethod entries of type Multikey with controller
//     and publicKeyMultibase (Ed25519, or RSA), in the actor or standalone;
//   - publicKey as an array, or without owner (Bridgy Fed).

// keyItems returns the key objects under field (an object or an array).
func keyItems(m map[string]any, field string) []map[string]any {
	switch k := m[field].(type) {
	case map[string]any:
		return []map[string]any{k}
	case []any:
		out := make([]map[string]any, 0, len(k))
		for _, item := range k {
			if km, ok := item.(map[string]any); ok {
				out = append(out, km)
			}
		}
		return out
	}
	return nil
}

// readKey reads one key object: publicKeyPem with owner, or a multikey
// with controller. An absent owner is defaultOwner (keys embedded in an
// actor often omit it). ok is false when the object holds no usable key.
func readKey(k map[string]any, defaultOwner string) (RemoteKey, bool) {
	key := RemoteKey{ID: str(k, "id"), Owner: idOf(k["owner"])}
	if key.Owner == "" {
		key.Owner = idOf(k["controller"])
	}
	if key.Owner == "" {
		key.Owner = defaultOwner
	}
	if pem := str(k, "publicKeyPem"); pem != "" {
		key.PEM = pem
	} else if mb := str(k, "publicKeyMultibase"); mb != "" {
		pem, err := MultikeyPEM(mb)
		if err != nil {
			return RemoteKey{}, false
		}
		key.PEM = pem
	}
	return key, key.ID != "" && key.PEM != "" && absURL(key.ID) != nil
}

// actorKeys lists the keys an actor document holds as its own: publicKey
// first (the key most servers sign with), then FEP-521a assertionMethod
// multikeys. A key counts only when its owner is the actor and its id is
// on the actor's origin, so a document cannot adopt someone else's key.
func actorKeys(m map[string]any, actorID string) []RemoteKey {
	var out []RemoteKey
	for _, field := range []string{"publicKey", "assertionMethod"} {
		for _, k := range keyItems(m, field) {
			key, ok := readKey(k, actorID)
			if ok && key.Owner == actorID && SameOrigin(key.ID, actorID) {
				out = append(out, key)
			}
		}
	}
	return out
}

// pickKey returns the actor's key keyID, or its first key when keyID is "".
func pickKey(m map[string]any, actorID, keyID string) (RemoteKey, error) {
	keys := actorKeys(m, actorID)
	for _, k := range keys {
		if keyID == "" || k.ID == keyID {
			return k, nil
		}
	}
	if len(keys) > 0 {
		return RemoteKey{}, errs.E(errs.Invalid, "the actor does not list the key %s as its own", clipURL(keyID))
	}
	return RemoteKey{}, errs.E(errs.Invalid, "actor has no public key of its own")
}

// OwnerOfKey returns the actor that the document served at keyID's
// address names as keyID's owner, or "" when it names none. The document
// may be a standalone key (its id is keyID: publicKeyPem with owner, or a
// Multikey with controller) or an actor stub listing keyID under
// publicKey or assertionMethod (GoToSocial's key endpoint). The owner is
// only a pointer: the caller must fetch it and find keyID among the
// actor's own keys (ParseActorKey) before trusting the pair.
func OwnerOfKey(doc []byte, keyID string) string {
	m, err := decodeObject(doc)
	if err != nil || keyID == "" {
		return ""
	}
	if str(m, "id") == keyID {
		if k, ok := readKey(m, ""); ok {
			return k.Owner
		}
		return ""
	}
	for _, field := range []string{"publicKey", "assertionMethod"} {
		for _, km := range keyItems(m, field) {
			if k, ok := readKey(km, str(m, "id")); ok && k.ID == keyID {
				return k.Owner
			}
		}
	}
	return ""
}

// clipURL bounds a remote URL quoted in a message.
func clipURL(s string) string { return text.Cut(s, 200) }
