package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// eachItem streams the items of outbox.json, at most MaxItem bytes each,
// turning a decoding error into an errs.Invalid one that names the file
// (and line and column).
func (a *Archive) eachItem(fn func(i int, raw json.RawMessage) error) error {
	return a.eachJSONItem(OutboxFile, true, a.lim.MaxItem, "an item", fn)
}

// eachJSONItem streams the orderedItems of a collection entry, holding
// one item (of at most item bytes) at a time.
func (a *Archive) eachJSONItem(name string, required bool, item int64, what string, fn func(i int, raw json.RawMessage) error) error {
	f := a.files[name]
	if f == nil {
		if required {
			return invalid("%s is missing", name)
		}
		return nil
	}
	m, c, err := a.open(f)
	if err != nil {
		return err
	}
	defer c.Close()
	m.perItem(item, maxRead, what).limit = a.capOf(name)
	dec := json.NewDecoder(m)
	n := 0
	err = streamItems(dec, func() { m.mark = m.n }, func(raw json.RawMessage) error {
		n++
		if err := fn(n-1, raw); err != nil {
			return callbackError{err}
		}
		return nil
	})
	var ce callbackError
	if errors.As(err, &ce) {
		return ce.err // the caller's own error, as it was
	}
	if err == nil {
		return nil
	}
	var le *locatedError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &le):
		return a.locatedIn(name, le.start, item+maxRead, le.err)
	case errors.As(err, &se):
		return a.located(name, se.Offset, err)
	case errors.As(err, &te):
		return a.located(name, te.Offset, err)
	}
	return readError(name, err)
}

// located names the line and column of a decoding error at offset, found
// by reading the entry again up to there, streaming.
func (a *Archive) located(name string, off int64, cause error) error {
	m, c, err := a.open(a.files[name])
	if err != nil {
		return err
	}
	defer c.Close()
	line, col := 1, int64(1)
	buf := make([]byte, maxRead)
	for pos := int64(0); pos < off; {
		n, rerr := m.Read(buf[:min(int64(len(buf)), off-pos)])
		for _, b := range buf[:n] {
			col++
			if b == '\n' {
				line, col = line+1, 1
			}
		}
		pos += int64(n)
		if rerr != nil {
			break
		}
	}
	return invalid("%s: line %d, column %d (offset %d): %v", name, line, col, off, cause)
}

// locatedError is a decoding error inside the value starting at start:
// json.Decoder's offset for it counts bytes it scanned, not the stream's.
type locatedError struct {
	start int64
	err   error
}

func (e *locatedError) Error() string { return e.err.Error() }
func (e *locatedError) Unwrap() error { return e.err }

// decodeError notes where the value of a failed dec.Decode starts: after
// the failure the decoder stands there.
func decodeError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &locatedError{start: dec.InputOffset(), err: err}
	}
	return err
}

// locatedIn finds a syntax error inside the value at start (of at most n
// bytes, which were read when it failed) by checking those bytes again,
// then names its line and column.
func (a *Archive) locatedIn(name string, start, n int64, cause error) error {
	m, c, err := a.open(a.files[name])
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.CopyN(io.Discard, m, start); err != nil {
		return readError(name, err)
	}
	b, err := io.ReadAll(io.LimitReader(m, n))
	if err != nil {
		return readError(name, err)
	}
	var raw json.RawMessage // checked whole first, then copied: no tree built
	var se *json.SyntaxError
	if err := json.Unmarshal(b, &raw); errors.As(err, &se) {
		return a.located(name, start+se.Offset, err)
	}
	return a.located(name, start, cause)
}

// callbackError carries an error of eachItem's fn through streamItems,
// apart from decoding errors.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// streamItems calls fn with each element of the top-level object's
// orderedItems array; other members are skipped. mark is called before
// each value, so the reader can bound one value's size.
func streamItems(dec *json.Decoder, mark func(), fn func(json.RawMessage) error) error {
	if tok, err := dec.Token(); err != nil {
		return err
	} else if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: reflect.TypeOf(map[string]any{}), Offset: dec.InputOffset()}
	}
	for dec.More() {
		mark()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if key, _ := tok.(string); key != "orderedItems" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return decodeError(dec, err)
			}
			continue
		}
		if err := streamArray(dec, mark, fn); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

func streamArray(dec *json.Decoder, mark func(), fn func(json.RawMessage) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: reflect.TypeOf([]any{}), Offset: dec.InputOffset()}
	}
	for dec.More() {
		mark()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return decodeError(dec, err)
		}
		if err := fn(raw); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// uriItem reads a collection item that is a URI or an object with an id.
func uriItem(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, s != ""
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(bytes.TrimSpace(raw), &o) != nil || o.ID == "" {
		return "", false
	}
	return o.ID, true
}

var _ io.Reader = (*meter)(nil)
