package fetch

import (
	"bytes"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"unicode"

	"github.com/roost-social/roost/internal/errs"
)

// checkID requires body to be one JSON object whose "id" is a URL on the
// same origin as final, the URL that actually served it: a server may only
// speak for its own documents, and a redirect to another host cannot make
// that host's document pass for the original (SECURITY 9).
func checkID(body []byte, final *url.URL) error {
	id, err := topLevelID(body)
	if err != nil {
		return err
	}
	if !sameOrigin(id, final) {
		return errs.E(errs.Invalid, "document served by %s claims an id on another origin", final.Host)
	}
	return nil
}

// topLevelID reads the object's "id" while walking its top-level keys, so
// that any key encoding/json would also decode as "id" (it matches keys
// case-insensitively: "ID", "Id") counts, and a document naming two ids is
// refused instead of checking one and handing the other to later decoders.
func topLevelID(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", errs.Wrap(errs.Invalid, err, "document is not a JSON object")
	}
	var id string
	var ids int
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", errs.Wrap(errs.Invalid, err, "document is not valid JSON")
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", errs.Wrap(errs.Invalid, err, "document is not valid JSON")
		}
		if !isIDKey(key) {
			continue
		}
		ids++
		if err := json.Unmarshal(raw, &id); err != nil || key != "id" {
			return "", errs.E(errs.Invalid, "document id must be a string named \"id\"")
		}
	}
	if _, err := dec.Token(); err != nil {
		return "", errs.Wrap(errs.Invalid, err, "document is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errs.E(errs.Invalid, "document has data after the JSON object")
	}
	if ids != 1 || id == "" {
		return "", errs.E(errs.Invalid, "document must have exactly one id")
	}
	return id, nil
}

// isIDKey reports whether key might decode into a field tagged "id". Upper
// of lower per rune folds a superset of what encoding/json folds (it also
// takes the Turkish dotted and dotless i), which errs on the side of refusing.
func isIDKey(key string) bool {
	folded := strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, key)
	return folded == "ID"
}
