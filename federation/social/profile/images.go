package profile

import (
	"context"

	"github.com/roost-social/roost/federation"
)

// Image is one of a profile's two pictures.
type Image int

// The profile's pictures.
const (
	Avatar Image = iota
	Header
)

// RemoveImage clears me's avatar or header (DELETE /api/v1/profile/avatar
// and /header): the default picture is shown again, and followers'
// servers are told with an Update, as for any profile edit.
func (s *Service) RemoveImage(ctx context.Context, me *federation.Account, which Image) (Result, error) {
	empty := ""
	var u federation.ProfileUpdate
	if which == Header {
		u.HeaderURL = &empty
	} else {
		u.AvatarURL = &empty
	}
	if err := s.Store.UpdateProfile(ctx, me.ID, u); err != nil {
		return Result{}, err
	}
	updated, err := s.Store.AccountByID(ctx, me.ID)
	if err != nil {
		return Result{}, err
	}
	return Result{Account: updated, SendErr: s.Publisher.UpdateProfile(ctx, updated)}, nil
}
