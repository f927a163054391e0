package signing

import (
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the small JSON helpers the package needs on its hot paths.
// The scanners assume their input already passed json.Valid; they still
// bounds-check every access and report failure instead of panicking.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string literal whose opening
// quote is at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at b[i], or
// -1. Containers are skipped iteratively, so depth costs no stack.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				k := skipString(b, j)
				if k < 0 {
					return -1
				}
				j = k - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				break
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// member locates one name/value pair of an object: key spans the key
// literal including its quotes, val spans the value.
type member struct {
	keyStart, keyEnd int
	valStart, valEnd int
}

// objIter walks the members of the top-level object in b.
type objIter struct {
	b    []byte
	i    int
	done bool
}

// newObjIter reports false when b (trimmed) is not an object.
func newObjIter(b []byte) (objIter, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return objIter{}, false
	}
	return objIter{b: b, i: i + 1}, true
}

// next returns the next member. ok is false at the end of the object or on
// malformed input; bad reports the latter.
func (it *objIter) next() (m member, ok, bad bool) {
	if it.done {
		return member{}, false, false
	}
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == ',' {
		i = skipSpace(b, i+1)
	}
	if i >= len(b) {
		it.done = true
		return member{}, false, true
	}
	if b[i] == '}' {
		it.done = true
		return member{}, false, false
	}
	if b[i] != '"' {
		it.done = true
		return member{}, false, true
	}
	m.keyStart = i
	m.keyEnd = skipString(b, i)
	if m.keyEnd < 0 {
		it.done = true
		return member{}, false, true
	}
	i = skipSpace(b, m.keyEnd)
	if i >= len(b) || b[i] != ':' {
		it.done = true
		return member{}, false, true
	}
	m.valStart = skipSpace(b, i+1)
	m.valEnd = skipValue(b, m.valStart)
	if m.valEnd < 0 {
		it.done = true
		return member{}, false, true
	}
	it.i = m.valEnd
	return m, true, false
}

// literalEquals reports whether the string literal lit (with quotes) decodes
// to want.
func literalEquals(lit []byte, want string) bool {
	if len(lit) < 2 {
		return false
	}
	body := lit[1 : len(lit)-1]
	if !containsByte(body, '\\') {
		return string(body) == want
	}
	s, ok := decodeString(lit)
	return ok && s == want
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// decodeString decodes a JSON string literal (with quotes). Invalid UTF-8
// and unpaired surrogate escapes decode to U+FFFD, as encoding/json does.
func decodeString(lit []byte) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	body := lit[1 : len(lit)-1]
	if !containsByte(body, '\\') {
		for _, c := range body {
			if c < 0x20 || c == '"' {
				return "", false
			}
		}
		if utf8.Valid(body) {
			return string(body), true
		}
		return string(appendValidUTF8(make([]byte, 0, len(body)+8), body)), true
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				if c < 0x20 || c == '"' {
					return "", false
				}
				out = append(out, c)
				i++
				continue
			}
			r, size := utf8.DecodeRune(body[i:])
			out = utf8.AppendRune(out, r)
			i += size
			continue
		}
		if i+1 >= len(body) {
			return "", false
		}
		switch body[i+1] {
		case '"', '\\', '/':
			out = append(out, body[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(body, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xDC00 && i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					if r2, ok := hex4(body, i+2); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

func appendValidUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal escaped the way
// JSON.stringify does: only '"', '\\' and control characters are escaped
// (short forms where JavaScript has them, \u00xx otherwise). Invalid UTF-8
// becomes U+FFFD so the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
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
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// utf16Len returns the length of the UTF-8 text b in UTF-16 code units, the
// unit of JavaScript's String.length: every byte that starts a code point
// counts one, and four-byte sequences (outside the BMP) count one more.
func utf16Len(b []byte) int {
	n := 0
	for _, c := range b {
		if c&0xC0 != 0x80 {
			n++
		}
		if c >= 0xF0 {
			n++
		}
	}
	return n
}
