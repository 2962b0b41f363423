package activitypub

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// ActivityStreams documents put the same field in several shapes: a string,
// an object with an id (or href), or an array of either. These helpers read
// them all.

// idOf returns the id of a string or object value, or of the first item of
// an array.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if s, ok := t["id"].(string); ok {
			return s
		}
		if s, ok := t["href"].(string); ok {
			return s
		}
	case []any:
		for _, item := range t {
			if s := idOf(item); s != "" {
				return s
			}
		}
	}
	return ""
}

// ids returns the ids of a value that may be one item or an array.
func ids(v any) []string {
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, item := range arr {
			if s := idOf(item); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	if s := idOf(v); s != "" {
		return []string{s}
	}
	return nil
}

// types returns the type names of a document ("type" may be an array).
func types(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, item := range t {
			if s, ok := item.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// hasType reports whether the document has one of the named types.
func hasType(m map[string]any, names ...string) bool {
	for _, t := range types(m) {
		for _, n := range names {
			if t == n {
				return true
			}
		}
	}
	return false
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func boolean(m map[string]any, key string) bool {
	b, _ := m[key].(bool)
	return b
}

// decodeObject decodes a JSON object, refusing anything else.
func decodeObject(doc []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil || m == nil {
		return nil, errs.E(errs.Invalid, "the document is not a JSON object")
	}
	return m, nil
}

// absURL parses an absolute http(s) URL without user info or fragment
// surprises, returning it or nil.
func absURL(s string) *url.URL {
	if len(s) > 2048 {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil
	}
	return u
}

// SameOrigin reports whether two URLs share scheme and host (with port).
func SameOrigin(a, b string) bool {
	ua, ub := absURL(a), absURL(b)
	return ua != nil && ub != nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}

// HostOf returns the lower-case host (with port) of an absolute URL, or "".
func HostOf(s string) string {
	if u := absURL(s); u != nil {
		return strings.ToLower(u.Host)
	}
	return ""
}

// IDs returns the ids of a value that may be one item or an array.
func IDs(v any) []string { return ids(v) }
