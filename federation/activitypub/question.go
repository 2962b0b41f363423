package activitypub

import (
	"time"

	"github.com/roost-social/roost/federation"
)

// NoteAttachment is an outgoing attachment, as Mastodon sends one: a
// Document with its media type, alt text (name), BlurHash, size and focal
// point.
type NoteAttachment struct {
	Type       string      `json:"type"`
	MediaType  string      `json:"mediaType,omitempty"`
	URL        string      `json:"url"`
	Name       *string     `json:"name"`
	Blurhash   string      `json:"blurhash,omitempty"`
	Width      int         `json:"width,omitempty"`
	Height     int         `json:"height,omitempty"`
	FocalPoint *[2]float64 `json:"focalPoint,omitempty"`
}

// PollChoice is one option of an outgoing Question, with its count.
type PollChoice struct {
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Replies map[string]any `json:"replies"`
}

// noteAttachments renders a status's attachments; what the client API
// alone needs (upload ids, previews) stays home.
func noteAttachments(atts []federation.Attachment) []NoteAttachment {
	out := make([]NoteAttachment, 0, len(atts))
	for _, a := range atts {
		n := NoteAttachment{Type: a.Type, MediaType: a.MediaType, URL: a.URL, Blurhash: a.Blurhash,
			Width: a.Width, Height: a.Height}
		if n.Type == "" {
			n.Type = "Document"
		}
		if a.Description != "" {
			d := a.Description
			n.Name = &d
		}
		if a.MediaID != 0 && (a.Width > 0 || a.FocusX != 0 || a.FocusY != 0) {
			n.FocalPoint = &[2]float64{a.FocusX, a.FocusY}
		}
		out = append(out, n)
	}
	return out
}

// addPoll makes n a Question asking p: oneOf (single choice) or anyOf,
// each option with its count; endTime, and closed once it has ended.
func addPoll(n *Note, p *federation.Poll, now time.Time) {
	if p == nil {
		return
	}
	n.Type = "Question"
	choices := make([]PollChoice, 0, len(p.Options))
	for _, o := range p.Options {
		choices = append(choices, PollChoice{Type: "Note", Name: o.Title,
			Replies: map[string]any{"type": "Collection", "totalItems": o.Votes}})
	}
	if p.Multiple {
		n.AnyOf = choices
	} else {
		n.OneOf = choices
	}
	if p.EndsAt != nil {
		n.EndTime = p.EndsAt.UTC().Format(time.RFC3339)
		if p.Ended(now) {
			n.Closed = n.EndTime
		}
	}
	voters := p.Voters
	n.VotersCount = &voters
}

// Vote is a poll vote as Mastodon sends it: a Note with only a name (the
// option's title) in reply to the Question.
type Vote struct {
	ID        string // the Note's id
	Author    string // its attributedTo, "" when absent
	Name      string
	InReplyTo string
}

// ParseVote reads a Note that may be a poll vote: one with a name and an
// inReplyTo. Whether it is one depends on what it replies to (a local
// poll with that option), which the caller checks; otherwise it is an
// ordinary reply.
func ParseVote(doc []byte) (*Vote, bool) {
	m, err := decodeObject(doc)
	if err != nil || !hasType(m, "Note") {
		return nil, false
	}
	v := &Vote{ID: str(m, "id"), Author: idOf(m["attributedTo"]), Name: str(m, "name"),
		InReplyTo: idOf(m["inReplyTo"])}
	if absURL(v.ID) == nil || v.Name == "" || len(v.Name) > maxOptionBytes || absURL(v.InReplyTo) == nil {
		return nil, false
	}
	if v.Author != "" && HostOf(v.Author) != HostOf(v.ID) {
		return nil, false
	}
	return v, true
}
