package soak

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// remoteNode is another Roost instance on its own database: one web
// node and one worker, behind a front door that counts what it accepts.
type remoteNode struct {
	domain string
	dbURL  string
	site   *Site
	serve  *proc
	work   *proc
	front  *frontDoor
	users  []*account
	// ids of local accounts on this node (acct → id), for follows.
	mu  sync.Mutex
	ids map[string]string
}

// remoteOp is a remote account posting (to its followers, some of them
// local, or directly to a local account) or following / unfollowing a
// local account, through its own server's API.
func (w *world) remoteOp(ctx context.Context, r *remoteNode, ra *account, kind string, target *localUser, n int, pick uint64, due time.Time) {
	c := call{method: "POST", domain: r.domain, token: ra.token, addr: r.serve.addr, due: due}
	switch kind {
	case "remote_post":
		vis := visibilities[pick%4]
		text := fmt.Sprintf("remote soak [r-%d-%d] %s", w.o.Seed, n, vis)
		if vis == "direct" || pick%3 == 0 {
			text = "@" + target.acct() + " " + text
		}
		c.path, c.key, c.form = "/api/v1/statuses", fmt.Sprintf("r-%d-%d", w.o.Seed, n), url.Values{"status": {text}, "visibility": {vis}}
	default:
		r.mu.Lock()
		id := r.ids[target.acct()]
		r.mu.Unlock()
		if id == "" {
			return
		}
		verb := "follow"
		if pick%2 == 0 {
			verb = "unfollow"
		}
		c.path = "/api/v1/accounts/" + id + "/" + verb
	}
	rep, err := w.cl.do(ctx, c)
	if err == nil && !rep.ok() {
		err = fmt.Errorf("%d %s", rep.status, clip(string(rep.body), 200))
	}
	if err != nil {
		w.fail("remote %s by %s: %v", kind, ra.acct(), err)
		return
	}
	w.ack(kind)
}

// edgePost is an edge actor's signed Create, its Date moved by skew, to
// a local account's tenant, mentioning it; a 202 is recorded and checked
// to be processed at the end.
func (w *world) edgePost(ctx context.Context, e *edgeActor, target *localUser, n int, skew time.Duration, due time.Time) {
	id := fmt.Sprintf("%s/statuses/soak-%d-%d", e.URI(), w.o.Seed, n)
	act := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": id + "/activity", "type": "Create", "actor": e.URI(),
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{target.uri()},
		"object": map[string]any{"id": id, "type": "Note", "attributedTo": e.URI(),
			"content":   fmt.Sprintf("<p>edge soak %d for @%s</p>", n, target.acct()),
			"published": time.Now().UTC().Format(time.RFC3339),
			"to":        []string{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []string{target.uri()},
			"tag": []map[string]string{{"type": "Mention", "href": target.uri(), "name": "@" + target.acct()}}},
	}
	status, attempts, err := w.sendSigned(ctx, e, target.domain, act, skew)
	if err != nil || (status != http.StatusAccepted && status != http.StatusOK) {
		w.cl.record(due, false, nil)
		w.fail("edge post %s to %s (Date skew %s): status %d err %v after %d attempts", id, target.domain, skew, status, err, attempts)
		return
	}
	w.cl.record(due, true, nil)
	w.mu.Lock()
	w.inbox202 = append(w.inbox202, inboxAck{domain: target.domain, activity: id + "/activity", skew: skew})
	w.mu.Unlock()
	w.ack("edge_inbox")
}

// sendSigned POSTs an edge actor's activity to a tenant's inbox, signed
// afresh for each attempt, retrying no answer, 5xx and 429 like the
// apps do; it returns the final status.
func (w *world) sendSigned(ctx context.Context, e *edgeActor, domain string, act map[string]any, skew time.Duration) (int, int, error) {
	w.cl.ops.Add(1)
	stop := time.Now().Add(w.cl.giveUp)
	for attempt := 1; ; attempt++ {
		req, err := e.signed(ctx, w.lb, domain, act, skew)
		if err != nil {
			return 0, attempt, err
		}
		resp, err := w.cl.hc.Do(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		if err == nil && status < 500 && status != 429 {
			return status, attempt, nil
		}
		if time.Now().After(stop) || ctx.Err() != nil {
			return status, attempt, fmt.Errorf("no answer a retry could end: %d %v", status, err)
		}
		w.cl.retryable.Add(1)
		time.Sleep(200 * time.Millisecond * time.Duration(min(attempt, 10)))
	}
}
