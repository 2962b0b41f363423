package streaming

import (
	"context"
	"fmt"
	"testing"
	"unsafe"
)

// Issue 19, finding 9, the same class in streaming: a stream lives as
// long as its connection, but the names it was opened with are fiber's
// views of the request's buffer (c.Query), which the server reuses for
// the next request. The stream must keep its own copies, or its frames
// name whatever the buffer holds later.
func TestIssue19Finding9StreamKeepsItsOwnNames(t *testing.T) {
	h := &Handler{}
	v := &viewer{site: sites["b.test"], tok: tokens["carol"], userID: 21}
	buf := []byte("hashtag:localCats") // one request's query bytes
	name := unsafe.String(&buf[0], len("hashtag:local"))
	tag := unsafe.String(&buf[len("hashtag:local")], len("Cats"))
	st, err := h.resolve(context.Background(), v, name, tag, "")
	if err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXXXXXXXXXXX") // the next request's
	if got := fmt.Sprint(st.name); got != "[hashtag:local Cats]" {
		t.Fatalf("the stream's frames are named %s after the request buffer was reused", got)
	}
}
