package media

import (
	"context"
	"strconv"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// Attribute is one entry of media_attributes[] on a status edit: new alt
// text or focus for one of the edited post's attachments; nil leaves a
// field as it is.
type Attribute struct {
	ID          string
	Description *string
	Focus       *string
}

// Describe applies a status edit's media attributes to the attachments
// the edited post will carry (atts, from ForStatus): each attribute names
// one of them, or is ignored, as on Mastodon. It changes atts only and
// returns those it changed, for Save once the edit is stored; bad alt
// text or focus is errs.Invalid and changes nothing.
func Describe(atts []*Attachment, attrs []Attribute) ([]*Attachment, error) {
	type change struct {
		a      *Attachment
		desc   string
		fx, fy float64
	}
	var changes []change
	for _, at := range attrs {
		id, err := strconv.ParseInt(strings.TrimSpace(at.ID), 10, 64)
		if err != nil {
			continue
		}
		var a *Attachment
		for _, x := range atts {
			if x.ID == id {
				a = x
			}
		}
		if a == nil {
			continue
		}
		c := change{a: a, desc: a.Description, fx: a.FocusX, fy: a.FocusY}
		if at.Description != nil {
			if err := checkDescription(*at.Description); err != nil {
				return nil, err
			}
			c.desc = *at.Description
		}
		if at.Focus != nil {
			if c.fx, c.fy, err = ParseFocus(*at.Focus); err != nil {
				return nil, err
			}
		}
		changes = append(changes, c)
	}
	out := make([]*Attachment, 0, len(changes))
	for _, c := range changes {
		c.a.Description, c.a.FocusX, c.a.FocusY = c.desc, c.fx, c.fy
		out = append(out, c.a)
	}
	return out, nil
}

// Save stores the descriptions and focus Describe changed, on the records
// of the account's attachments of statusID.
func (s *Service) Save(ctx context.Context, accountID, statusID int64, changed []*Attachment) error {
	for _, a := range changed {
		if err := s.Store.DescribeMedia(ctx, accountID, statusID, a.ID, a.Description, a.FocusX, a.FocusY); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes one of the account's uploads that no post carries, and
// its files: errs.NotFound unless it is the account's, errs.Invalid while
// a post carries it (Mastodon answers 422 then).
func (s *Service) Delete(ctx context.Context, accountID, id int64) error {
	a, err := s.Get(ctx, accountID, id)
	if err != nil {
		return err
	}
	if a.StatusID != 0 {
		return errs.E(errs.Invalid, "Media attachment is currently used by a status")
	}
	keys, err := s.Store.DeleteMedia(ctx, accountID, id)
	if err != nil {
		return err
	}
	return s.discard(ctx, nil, keys...)
}
