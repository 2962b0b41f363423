package outbox

import (
	"context"
	"encoding/json"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// Refollow carries a moved account's follow of a remote account to its
// new actor: a Follow with the id newID from moved (the follow's row
// already took that id, which the Accept will name), then an Undo of the
// old Follow from ghost, the identity left behind, so the remote server
// delivers to the new inbox and no longer to the old one.
func (s *Service) Refollow(ctx context.Context, ghost, moved *federation.Account, f federation.RemoteFollow, newID string) error {
	to, err := s.actor(ctx, moved)
	if err != nil {
		return err
	}
	from, err := s.actor(ctx, ghost)
	if err != nil {
		return err
	}
	follow, err := json.Marshal(ap.NewFollow(newID, to.uri, f.TargetURI))
	if err != nil {
		return err
	}
	if err := s.Send.Send(ctx, moved.ID, newID, follow, []string{f.Inbox}, false); err != nil {
		return err
	}
	old := map[string]any{"id": f.URI, "type": "Follow", "actor": from.uri, "object": f.TargetURI}
	return s.send(ctx, from, "Undo", f.URI+"/undo", old, []string{f.TargetURI}, nil, []string{f.Inbox}, false)
}
