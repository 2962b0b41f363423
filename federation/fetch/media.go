package fetch

import (
	"errors"
	"github.com/roost-social/roost/internal/text"
	"mime"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// ActivityAccept is the Accept header of ActivityStreams fetches.
const ActivityAccept = `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`

// ActivityContentType is the Content-Type of deliveries.
const ActivityContentType = "application/activity+json"

// activityTypes are the media types a fetched ActivityStreams document may
// have. application/json is not among them: any JSON file a server hosts
// (an uploaded attachment, say) is served as that, and must never pass for
// an actor (Mastodon CVE-2024-25623, Misskey CVE-2024-25636). ld+json is
// accepted whatever its profile, as peers differ on sending it.
var activityTypes = []string{"application/activity+json", "application/ld+json"}

// mediaType returns the lower-cased media type of a Content-Type header.
// A malformed parameter is tolerated (some servers leave the profile URL
// unquoted); a malformed type is not.
func mediaType(contentType string) (string, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return "", false
	}
	return mt, mt != ""
}

// checkContentType requires the response's media type to be one of allowed.
func checkContentType(host, contentType string, allowed []string) error {
	mt, ok := mediaType(contentType)
	if ok {
		for _, a := range allowed {
			if strings.EqualFold(mt, a) {
				return nil
			}
		}
	}
	return errs.E(errs.Invalid, "%s served a document of type %q, not %s", host, text.Clip(contentType, 100), strings.Join(allowed, " or "))
}
