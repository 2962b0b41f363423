package streaming

import (
	"testing"
	"time"

	"github.com/roost-social/roost/internal/testenv"
)

// Soak finding 13: a streaming client that reconnected and paged its
// home timeline at once missed a post stored between its page and the
// node's subscription, which began only after the WebSocket handshake had
// answered. The stream named in the URL is now subscribed, and confirmed
// by Redis, before the handshake answers.
func TestIssue19Finding13WebSocketSubscribedBeforeHandshakeAnswers(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	n := startNode(t, client, prefix, &Handler{})
	// Hold the node's subscription until the client has its socket (or a
	// second has passed: a handshake that waits for the subscription
	// could not answer before).
	opened := make(chan struct{})
	n.hub.beforeSubscribe = func() {
		select {
		case <-opened:
		case <-time.After(time.Second):
		}
	}
	c, _, err := dialWS(t, n, "a.test", "?stream=user", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	got := confirmed(n.hub)
	close(opened)
	if got != 1 {
		t.Fatalf("Redis had confirmed %d channels when the handshake answered; want the user stream's", got)
	}
	frames := wsFrames(c)
	publish(t, client, prefix, `{"e":"update","id":41,"u":[11]}`)
	if f := next(t, frames, "update"); f["event"] != "update" {
		t.Fatalf("frame %v: want the update published right after the socket opened", f)
	}
}
