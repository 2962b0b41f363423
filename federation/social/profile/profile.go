// Package profile is the use case of a local account editing its
// profile: the limits of its name, note and fields, the default posting
// settings, verified links that stay verified while unchanged, and
// telling followers' servers of the change. The Mastodon API calls it;
// images are stored by the caller's media pipeline, once the rest is valid.
package profile

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Profile limits, as on Mastodon.
const (
	MaxDisplayName = 30
	MaxNote        = 500
	MaxFields      = 4
	MaxFieldName   = 255
	MaxFieldValue  = 255
)

// Store saves a profile and reads the account back.
type Store interface {
	UpdateProfile(ctx context.Context, accountID int64, u federation.ProfileUpdate) error
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// Publisher tells the servers of a local account's followers that its
// profile changed (outbox.Service).
type Publisher interface {
	UpdateProfile(ctx context.Context, local *federation.Account) error
}

// Service is the profile use case.
type Service struct {
	Store     Store
	Publisher Publisher
}

// Changes are what an edit asks for; nil leaves a field as it is.
type Changes struct {
	DisplayName  *string
	Note         *string
	Locked       *bool
	Bot          *bool
	Discoverable *bool
	// Fields replace the profile's fields (empty pairs dropped).
	Fields    *[]federation.Field
	Privacy   *string
	Sensitive *bool
	Language  *string
	// Images stores an uploaded avatar and header once everything else is
	// valid, returning their URLs ("" for one not sent); nil: none sent.
	Images func(ctx context.Context) (avatarURL, headerURL string, err error)
}

// Result is an edit's outcome.
type Result struct {
	// Account is the account as saved; nil when it could not be read back.
	Account *federation.Account
	// VerifyLinks is set when the fields changed and a link among them
	// awaits verification (rel=me).
	VerifyLinks bool
	// SendErr is why followers' servers were not told; the profile is saved
	// all the same, so it is the operator's concern, not the user's.
	SendErr error
}

// Update edits me's profile.
func (s *Service) Update(ctx context.Context, me *federation.Account, ch Changes) (Result, error) {
	u, err := check(me, ch)
	if err != nil {
		return Result{}, err
	}
	if ch.Images != nil {
		avatar, header, err := ch.Images(ctx)
		if err != nil {
			return Result{}, err
		}
		if avatar != "" {
			u.AvatarURL = &avatar
		}
		if header != "" {
			u.HeaderURL = &header
		}
	}
	if err := s.Store.UpdateProfile(ctx, me.ID, u); err != nil {
		return Result{}, err
	}
	updated, err := s.Store.AccountByID(ctx, me.ID)
	if err != nil {
		return Result{}, nil
	}
	res := Result{Account: updated, VerifyLinks: u.Fields != nil && UnverifiedLinks(updated)}
	res.SendErr = s.Publisher.UpdateProfile(ctx, updated)
	return res, nil
}

// check validates ch into a profile update.
func check(me *federation.Account, ch Changes) (federation.ProfileUpdate, error) {
	u := federation.ProfileUpdate{Locked: ch.Locked, Bot: ch.Bot, Discoverable: ch.Discoverable,
		DefaultSensitive: ch.Sensitive, DefaultLanguage: ch.Language}
	if ch.DisplayName != nil {
		v := strings.TrimSpace(*ch.DisplayName)
		if utf8.RuneCountInString(v) > MaxDisplayName {
			return u, errs.E(errs.Invalid, "Validation failed: Display name is too long (maximum is %d characters)", MaxDisplayName)
		}
		u.DisplayName = &v
	}
	if ch.Note != nil {
		v := strings.TrimSpace(*ch.Note)
		if utf8.RuneCountInString(v) > MaxNote {
			return u, errs.E(errs.Invalid, "Validation failed: Note is too long (maximum is %d characters)", MaxNote)
		}
		u.Note = &v
	}
	if ch.Fields != nil {
		fields, err := checkFields(*ch.Fields)
		if err != nil {
			return u, err
		}
		keepVerified(me.Fields, fields)
		u.Fields = &fields
	}
	if ch.Privacy != nil {
		v := federation.Visibility(*ch.Privacy)
		switch v {
		case federation.Public, federation.Unlisted, federation.Private, federation.Direct:
		default:
			return u, errs.E(errs.Invalid, "Validation failed: privacy must be public, unlisted, private or direct")
		}
		u.DefaultPrivacy = &v
	}
	return u, nil
}

// checkFields trims fields, drops empty pairs and checks the limits.
func checkFields(in []federation.Field) ([]federation.Field, error) {
	out := []federation.Field{}
	for _, f := range in {
		name, value := strings.TrimSpace(f.Name), strings.TrimSpace(f.Value)
		if name == "" && value == "" {
			continue
		}
		if utf8.RuneCountInString(name) > MaxFieldName || utf8.RuneCountInString(value) > MaxFieldValue {
			return nil, errs.E(errs.Invalid, "Validation failed: a profile field is too long (at most %d characters)", MaxFieldValue)
		}
		out = append(out, federation.Field{Name: name, Value: value})
	}
	if len(out) > MaxFields {
		return nil, errs.E(errs.Invalid, "Validation failed: at most %d profile fields", MaxFields)
	}
	return out, nil
}

// keepVerified carries verification over to fields whose value did not
// change; a changed (or new) value is unverified until checked again.
func keepVerified(old, fields []federation.Field) {
	verified := map[string]*federation.Field{}
	for i := range old {
		if old[i].VerifiedAt != nil {
			verified[old[i].Value] = &old[i]
		}
	}
	for i := range fields {
		if o, ok := verified[fields[i].Value]; ok {
			fields[i].VerifiedAt = o.VerifiedAt
		}
	}
}

// UnverifiedLinks reports whether a has a link field not yet verified.
func UnverifiedLinks(a *federation.Account) bool {
	for _, f := range a.Fields {
		if f.VerifiedAt == nil && len(f.Value) > 8 && (f.Value[:7] == "http://" || f.Value[:8] == "https://") {
			return true
		}
	}
	return false
}
