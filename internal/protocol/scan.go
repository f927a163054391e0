package protocol

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxNesting is encoding/json's nesting limit. Using the same value makes
// the scanner accept exactly what json.Valid accepts, and bounds the memory
// of the level stack on untrusted input.
const maxNesting = 10000

// kind is the type of a scanned JSON value.
type kind uint8

const (
	kindAbsent kind = iota // the member was not present
	kindNull
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

// span locates one raw JSON value inside the scanned input.
type span struct {
	start, end int // data[start:end] is the value; strings include their quotes
	kind       kind
	slow       bool // strings only: has an escape or a non-ASCII byte
}

// raw returns the value's bytes, capped so that appending to the result can
// never overwrite the input.
func (v span) raw(data []byte) []byte { return data[v.start:v.end:v.end] }

// strPlain reports the bytes a string literal can hold with no special
// handling: printable ASCII other than the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner walks JSON text. It validates everything it skips, never recurses
// (nesting is tracked in a bit stack) and never allocates for inputs nested
// less than 256 levels.
type scanner struct {
	data []byte
	i    int

	// When check is set, skip reports in found the first forbidden key of
	// an object nested at most checkDepth levels below the skipped value.
	check      bool
	checkDepth int
	found      string

	stack levels // container kinds of the value skip is walking
}

func (s *scanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str scans the string literal whose opening quote is at s.i and leaves s.i
// after the closing quote. slow reports an escape or a non-ASCII byte.
func (s *scanner) str() (slow, ok bool) {
	d := s.data
	i := s.i + 1
	for {
		for i < len(d) && strPlain[d[i]] {
			i++
		}
		if i >= len(d) {
			return false, false
		}
		switch c := d[i]; {
		case c == '"':
			s.i = i + 1
			return slow, true
		case c == '\\':
			slow = true
			if i+1 >= len(d) {
				return false, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || hex4(d[i+2:i+6]) < 0 {
					return false, false
				}
				i += 6
			default:
				return false, false
			}
		case c < 0x20:
			return false, false
		default: // a byte of a multi-byte (or invalid) UTF-8 sequence
			slow = true
			i++
		}
	}
}

// num scans a number at s.i following the JSON grammar.
func (s *scanner) num() bool {
	d := s.data
	i := s.i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return false
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		i = digits(d, i+1)
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return false
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return false
		}
		i = digits(d, i)
	}
	s.i = i
	return true
}

func digits(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

func (s *scanner) lit(word string) bool {
	if len(s.data)-s.i < len(word) || string(s.data[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// levels is the container stack of skip: bit n tells whether level n is an
// object. The first 256 levels live inline.
type levels struct {
	small [4]uint64
	big   []uint64
}

func (l *levels) word(n int) *uint64 {
	w := n >> 6
	if w < len(l.small) {
		return &l.small[w]
	}
	w -= len(l.small)
	for len(l.big) <= w {
		l.big = append(l.big, 0)
	}
	return &l.big[w]
}

func (l *levels) set(n int, obj bool) {
	p, bit := l.word(n), uint64(1)<<(n&63)
	if obj {
		*p |= bit
	} else {
		*p &^= bit
	}
}

func (l *levels) obj(n int) bool { return *l.word(n)&(uint64(1)<<(n&63)) != 0 }

// scalar scans the non-container value starting with c at s.i.
func (s *scanner) scalar(c byte) (k kind, slow, ok bool) {
	switch c {
	case '"':
		slow, ok = s.str()
		return kindString, slow, ok
	case 't':
		return kindTrue, false, s.lit("true")
	case 'f':
		return kindFalse, false, s.lit("false")
	case 'n':
		return kindNull, false, s.lit("null")
	}
	return kindNumber, false, s.num()
}

// skip validates and skips one value (leading whitespace allowed) and
// returns its span. nest is the number of containers already open around the
// value; the total may not exceed maxNesting. When s.check is set and a
// forbidden key is met, skip stops early with ok == true and s.found set.
func (s *scanner) skip(nest int) (v span, ok bool) {
	d := s.data
	s.ws()
	if s.i >= len(d) {
		return span{}, false
	}
	v.start = s.i
	if c := d[s.i]; c != '{' && c != '[' {
		v.kind, v.slow, ok = s.scalar(c)
		v.end = s.i
		return v, ok
	}
	level := 0 // containers opened inside this value and not yet closed
	for {
		// A value starts at s.i.
		if s.i >= len(d) {
			return span{}, false
		}
		if c := d[s.i]; c == '{' || c == '[' {
			if nest+level+1 > maxNesting {
				return span{}, false
			}
			s.i++
			s.ws()
			if s.i >= len(d) || d[s.i] != c+2 { // '}' == '{'+2, ']' == '['+2
				s.stack.set(level, c == '{')
				level++
				if c == '{' && !s.key(level-1) {
					return span{}, false
				}
				if s.found != "" {
					return span{}, true
				}
				continue
			}
			s.i++ // an empty container
			if level == 0 {
				v.end, v.kind = s.i, kindArray
				if c == '{' {
					v.kind = kindObject
				}
				return v, true
			}
		} else if _, _, ok := s.scalar(c); !ok {
			return span{}, false
		}
		// A value inside a container ended: close containers until one
		// continues with another element.
		for {
			s.ws()
			if s.i >= len(d) {
				return span{}, false
			}
			obj := s.stack.obj(level - 1)
			c := d[s.i]
			if c == ',' {
				s.i++
				s.ws()
				if obj && !s.key(level-1) {
					return span{}, false
				}
				if s.found != "" {
					return span{}, true
				}
				break
			}
			if (obj && c == '}') || (!obj && c == ']') {
				s.i++
				level--
				if level == 0 {
					v.end, v.kind = s.i, kindArray
					if obj {
						v.kind = kindObject
					}
					return v, true
				}
				continue
			}
			return span{}, false
		}
	}
}

// key scans `"name" :` (and the whitespace after the colon) inside an object
// at the given level of the value being skipped.
func (s *scanner) key(level int) bool {
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return false
	}
	start := s.i
	slow, ok := s.str()
	if !ok {
		return false
	}
	if s.check && level <= s.checkDepth {
		if name, bad := forbidden(s.data, span{start: start, end: s.i, kind: kindString, slow: slow}); bad {
			s.found = name
			return true
		}
	}
	s.ws()
	if s.i >= len(s.data) || s.data[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// member reads the next member of an object whose '{' has been consumed:
// first tells that no member was read yet. done reports the closing brace.
// nest is the nesting of the member values (the object's own depth).
func (s *scanner) member(first bool, nest int) (key, val span, done, ok bool) {
	d := s.data
	s.ws()
	if s.i >= len(d) {
		return key, val, false, false
	}
	if d[s.i] == '}' {
		s.i++
		return key, val, true, true
	}
	if !first {
		if d[s.i] != ',' {
			return key, val, false, false
		}
		s.i++
		s.ws()
		if s.i >= len(d) {
			return key, val, false, false
		}
	}
	if d[s.i] != '"' {
		return key, val, false, false
	}
	key.start = s.i
	slow, ok := s.str()
	if !ok {
		return key, val, false, false
	}
	key.end, key.kind, key.slow = s.i, kindString, slow
	s.ws()
	if s.i >= len(d) || d[s.i] != ':' {
		return key, val, false, false
	}
	s.i++
	val, ok = s.skip(nest)
	return key, val, false, ok
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendDecoded appends the decoded contents of the string literal v.
func appendDecoded(dst, data []byte, v span) []byte {
	body := data[v.start+1 : v.end-1]
	if !v.slow {
		return append(dst, body...)
	}
	return appendUnescaped(dst, body)
}

// decodeString returns the decoded contents of the string literal v.
func decodeString(data []byte, v span) string {
	if !v.slow {
		return string(data[v.start+1 : v.end-1])
	}
	return string(appendUnescaped(nil, data[v.start+1:v.end-1]))
}

// appendUnescaped decodes the body of a valid string literal the way
// encoding/json does: escapes are resolved, a lone or mismatched surrogate
// escape becomes U+FFFD, and every byte of invalid UTF-8 becomes U+FFFD.
func appendUnescaped(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\\':
			switch body[i+1] {
			case 'u':
				r := hex4(body[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
						r2 = hex4(body[i+2:])
					}
					if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
						r = p
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			default: // '"', '\\', '/'
				c = body[i+1]
			}
			dst = append(dst, c)
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, body[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// shortKey returns the decoded name of the key literal k when it is at most
// len(buf) bytes long, decoding into buf when it has escapes; otherwise nil
// (such a key cannot be one of the names the package looks for).
func shortKey(data []byte, k span, buf []byte) []byte {
	body := data[k.start+1 : k.end-1]
	if !k.slow {
		return body
	}
	// A decoded byte needs at least one raw byte, an escape at most six.
	if len(body) > 6*cap(buf) {
		return nil
	}
	out := appendUnescaped(buf[:0], body)
	if len(out) > cap(buf) {
		return nil
	}
	return out
}

// forbidden reports whether the key literal k names a prototype key.
func forbidden(data []byte, k span) (string, bool) {
	var buf [16]byte
	switch string(shortKey(data, k, buf[:0])) {
	case "__proto__":
		return "__proto__", true
	case "constructor":
		return "constructor", true
	case "prototype":
		return "prototype", true
	}
	return "", false
}

// truthy reports whether JavaScript would treat the value as true.
func truthy(data []byte, v span) bool {
	switch v.kind {
	case kindAbsent, kindNull, kindFalse:
		return false
	case kindString:
		return v.end-v.start > 2 // any non-empty body decodes to a non-empty string
	case kindNumber:
		// 0, -0, 0.0e5 and underflowing literals such as 1e-400 are all zero.
		// An overflow parses as ±Inf (with an error), which is truthy too.
		f, _ := strconv.ParseFloat(string(data[v.start:v.end]), 64)
		return f != 0
	}
	return true
}
