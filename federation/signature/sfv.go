package signature

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// This file parses and serialises the subset of RFC 8941 structured
// fields that RFC 9421 (Signature-Input, Signature) and RFC 9530
// (Content-Digest) use: dictionaries whose members are items or inner
// lists, with parameters. Decimals are not supported (none of these fields
// uses them); a field holding one is refused, never misread.

// sfKind is the type of a bare item.
type sfKind uint8

const (
	sfInteger sfKind = iota + 1
	sfString
	sfToken
	sfBytes
	sfBool
)

// sfItem is a bare item with its parameters.
type sfItem struct {
	kind   sfKind
	num    int64
	str    string // string or token
	bytes  []byte
	flag   bool
	params []sfParam
}

// sfParam is one parameter; its value has no parameters of its own.
type sfParam struct {
	key string
	val sfItem
}

// sfMember is a dictionary member: an item, or an inner list (inner set)
// with the list's own parameters in item.params.
type sfMember struct {
	key   string
	item  sfItem
	inner []sfItem
	list  bool
}

// sfParser walks one field value; ok turns false at the first error.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }
func (p *sfParser) peek() byte { return p.s[p.i] }

func (p *sfParser) skipSP() {
	for !p.done() && p.peek() == ' ' {
		p.i++
	}
}

func (p *sfParser) skipOWS() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// parseDictionary parses a whole dictionary field value. Unlike RFC 8941,
// which lets a repeated key overwrite the earlier one, a repeated key is
// refused: two members under one label would mean different things to
// different verifiers.
func parseDictionary(v string) ([]sfMember, bool) {
	p := &sfParser{s: v}
	p.skipSP()
	var out []sfMember
	seen := map[string]bool{}
	for !p.done() {
		key, ok := p.key()
		if !ok || seen[key] {
			return nil, false
		}
		seen[key] = true
		m := sfMember{key: key}
		if !p.done() && p.peek() == '=' {
			p.i++
			if !p.done() && p.peek() == '(' {
				m.list = true
				if m.inner, ok = p.innerList(); !ok {
					return nil, false
				}
				if m.item.params, ok = p.params(); !ok {
					return nil, false
				}
			} else if m.item, ok = p.item(); !ok {
				return nil, false
			}
		} else {
			m.item = sfItem{kind: sfBool, flag: true}
			if m.item.params, ok = p.params(); !ok {
				return nil, false
			}
		}
		out = append(out, m)
		p.skipOWS()
		if p.done() {
			break
		}
		if p.peek() != ',' {
			return nil, false
		}
		p.i++
		p.skipOWS()
		if p.done() { // trailing comma
			return nil, false
		}
	}
	return out, true
}

func (p *sfParser) innerList() ([]sfItem, bool) {
	p.i++ // (
	var out []sfItem
	for !p.done() {
		p.skipSP()
		if p.done() {
			break
		}
		if p.peek() == ')' {
			p.i++
			return out, true
		}
		it, ok := p.item()
		if !ok {
			return nil, false
		}
		out = append(out, it)
		if p.done() || (p.peek() != ' ' && p.peek() != ')') {
			return nil, false
		}
	}
	return nil, false
}

func (p *sfParser) item() (sfItem, bool) {
	it, ok := p.bare()
	if !ok {
		return sfItem{}, false
	}
	it.params, ok = p.params()
	return it, ok
}

func (p *sfParser) params() ([]sfParam, bool) {
	var out []sfParam
	for !p.done() && p.peek() == ';' {
		p.i++
		p.skipSP()
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		val := sfItem{kind: sfBool, flag: true}
		if !p.done() && p.peek() == '=' {
			p.i++
			if val, ok = p.bare(); !ok {
				return nil, false
			}
		}
		for _, q := range out {
			if q.key == key { // repeated parameter: refused, as repeated keys
				return nil, false
			}
		}
		out = append(out, sfParam{key: key, val: val})
	}
	return out, true
}

func (p *sfParser) key() (string, bool) {
	start := p.i
	if p.done() || !(isLCAlpha(p.peek()) || p.peek() == '*') {
		return "", false
	}
	for !p.done() && (isLCAlpha(p.peek()) || isDigit(p.peek()) || strings.IndexByte("_-.*", p.peek()) >= 0) {
		p.i++
	}
	return p.s[start:p.i], true
}

func (p *sfParser) bare() (sfItem, bool) {
	if p.done() {
		return sfItem{}, false
	}
	switch c := p.peek(); {
	case c == '-' || isDigit(c):
		return p.integer()
	case c == '"':
		return p.str()
	case c == ':':
		return p.byteSeq()
	case c == '?':
		if p.i+1 >= len(p.s) || (p.s[p.i+1] != '0' && p.s[p.i+1] != '1') {
			return sfItem{}, false
		}
		v := p.s[p.i+1] == '1'
		p.i += 2
		return sfItem{kind: sfBool, flag: v}, true
	case c == '*' || isAlpha(c):
		start := p.i
		for !p.done() && (isTchar(p.peek()) || p.peek() == ':' || p.peek() == '/') {
			p.i++
		}
		return sfItem{kind: sfToken, str: p.s[start:p.i]}, true
	}
	return sfItem{}, false
}

func (p *sfParser) integer() (sfItem, bool) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	digits := p.i
	for !p.done() && isDigit(p.peek()) {
		p.i++
	}
	n := p.i - digits
	if n == 0 || n > 15 || (!p.done() && p.peek() == '.') { // decimals unsupported
		return sfItem{}, false
	}
	v, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
	return sfItem{kind: sfInteger, num: v}, err == nil
}

func (p *sfParser) str() (sfItem, bool) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch {
		case c == '"':
			return sfItem{kind: sfString, str: b.String()}, true
		case c == '\\':
			if p.done() || (p.peek() != '"' && p.peek() != '\\') {
				return sfItem{}, false
			}
			b.WriteByte(p.peek())
			p.i++
		case c < 0x20 || c > 0x7e:
			return sfItem{}, false
		default:
			b.WriteByte(c)
		}
	}
	return sfItem{}, false
}

func (p *sfParser) byteSeq() (sfItem, bool) {
	p.i++ // opening colon
	end := strings.IndexByte(p.s[p.i:], ':')
	if end < 0 {
		return sfItem{}, false
	}
	raw := p.s[p.i : p.i+end]
	p.i += end + 1
	if strings.Trim(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != "" {
		return sfItem{}, false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return sfItem{}, false
	}
	return sfItem{kind: sfBytes, bytes: b}, true
}

func isLCAlpha(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlpha(c byte) bool   { return isLCAlpha(c) || ('A' <= c && c <= 'Z') }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }

// serialize renders a bare item and its parameters canonically (RFC 8941
// §4.1), which is how @signature-params and component identifiers appear
// in a signature base.
func (it sfItem) serialize(b *strings.Builder) {
	switch it.kind {
	case sfInteger:
		b.WriteString(strconv.FormatInt(it.num, 10))
	case sfString:
		b.WriteByte('"')
		for i := 0; i < len(it.str); i++ {
			if it.str[i] == '"' || it.str[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(it.str[i])
		}
		b.WriteByte('"')
	case sfToken:
		b.WriteString(it.str)
	case sfBytes:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(it.bytes))
		b.WriteByte(':')
	case sfBool:
		if it.flag {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	}
	serializeParams(b, it.params)
}

func serializeParams(b *strings.Builder, ps []sfParam) {
	for _, p := range ps {
		b.WriteByte(';')
		b.WriteString(p.key)
		if p.val.kind == sfBool && p.val.flag {
			continue
		}
		b.WriteByte('=')
		v := p.val
		v.params = nil
		v.serialize(b)
	}
}

// serializeInner renders an inner list with its parameters.
func serializeInner(items []sfItem, params []sfParam) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		it.serialize(&b)
	}
	b.WriteByte(')')
	serializeParams(&b, params)
	return b.String()
}
