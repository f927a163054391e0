package protocol

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. It escapes '"', '\\',
// control characters (\b \f \n \r \t by name, the others as \u00XX), U+2028
// and U+2029, and replaces each byte of invalid UTF-8 with \ufffd. Like
// JSON.stringify (and unlike encoding/json's default) it leaves '<', '>' and
// '&' alone. The output is byte-for-byte what an encoding/json Encoder with
// SetEscapeHTML(false) produces.
func AppendString(dst []byte, s string) []byte { return appendQuoted(dst, s) }

// AppendBytesString is AppendString for text held in a byte slice (an
// encoded frame embedded as a string), without converting it to a string.
func AppendBytesString(dst []byte, s []byte) []byte { return appendQuoted(dst, s) }

// appendQuoted is the one JSON string encoder behind AppendString and
// AppendBytesString.
func appendQuoted[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if strPlain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decodeRune decodes the first rune of s without converting it.
func decodeRune[S string | []byte](s S) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	panic("unreachable")
}

// Obj appends one JSON object member by member, with keys written verbatim:
// keys must be trusted constants that need no escaping. The zero Obj is not
// usable; start with Object.
//
//	o := protocol.Object(buf)
//	o.Str("type", protocol.TypeActionResponse)
//	o.Bool("success", true)
//	buf = o.Close()
type Obj struct {
	buf  []byte
	more bool // a member has been written
}

// Object starts an object at the end of dst.
func Object(dst []byte) Obj { return Obj{buf: append(dst, '{')} }

func (o *Obj) key(k string) {
	if o.more {
		o.buf = append(o.buf, ',')
	}
	o.more = true
	o.buf = append(o.buf, '"')
	o.buf = append(o.buf, k...)
	o.buf = append(o.buf, '"', ':')
}

// Str writes a string member.
func (o *Obj) Str(key, v string) {
	o.key(key)
	o.buf = AppendString(o.buf, v)
}

// StrIfSet writes a string member unless v is empty.
func (o *Obj) StrIfSet(key, v string) {
	if v != "" {
		o.Str(key, v)
	}
}

// Raw writes a member whose value is the JSON text raw, which must be valid
// JSON; an empty raw is written as null.
func (o *Obj) Raw(key string, raw []byte) {
	o.key(key)
	if len(raw) == 0 {
		o.buf = append(o.buf, "null"...)
		return
	}
	o.buf = append(o.buf, raw...)
}

// RawIfSet writes a raw member unless raw is empty (the JSON.stringify
// treatment of undefined).
func (o *Obj) RawIfSet(key string, raw []byte) {
	if len(raw) != 0 {
		o.Raw(key, raw)
	}
}

// Bool writes a boolean member.
func (o *Obj) Bool(key string, v bool) {
	o.key(key)
	if v {
		o.buf = append(o.buf, "true"...)
	} else {
		o.buf = append(o.buf, "false"...)
	}
}

// Int writes an integer member.
func (o *Obj) Int(key string, v int64) {
	o.key(key)
	o.buf = strconv.AppendInt(o.buf, v, 10)
}

// Close ends the object and returns the extended buffer. The Obj must not be
// used afterwards.
func (o *Obj) Close() []byte { return append(o.buf, '}') }
