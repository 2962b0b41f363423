package activitypub_test

import (
	"encoding/json"
	"github.com/roost-social/roost/internal/fixtures"
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir returns the shared fixtures directory.
func fixturesDir(t *testing.T) string { return fixtures.Dir(t) }

// readFixture returns the bytes of a fixture, by path relative to the
// fixtures directory.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir(t), filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeMap unmarshals a JSON object.
func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode JSON object: %v\n%s", err, b)
	}
	return m
}

// roundTrip marshals v and decodes the result into a generic map, so
// assertions see exactly what a remote server would.
func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return decodeMap(t, b)
}

// jsonKind names a decoded JSON value's type.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

// str returns m[key] as a string, failing when it is missing or not one.
func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("key %q missing from %v", key, m)
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("key %q is %s (%v), want string", key, jsonKind(v), v)
	}
	return s
}

// obj returns m[key] as an object, failing when it is missing or not one.
func obj(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("key %q missing from %v", key, m)
	}
	o, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("key %q is %s (%v), want object", key, jsonKind(v), v)
	}
	return o
}

// boolean returns m[key] as a bool, failing when it is missing or not one.
func boolean(t *testing.T, m map[string]any, key string) bool {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("key %q missing from %v", key, m)
	}
	b, ok := v.(bool)
	if !ok {
		t.Fatalf("key %q is %s (%v), want bool", key, jsonKind(v), v)
	}
	return b
}
