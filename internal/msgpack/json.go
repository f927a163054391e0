package msgpack

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendJSON appends the msgpack encoding of the JSON value raw, exactly as
// the reference encodes the result of JSON.parse(raw): numbers follow
// AppendNumber (JSON.parse's nearest double; 3.0 is the integer 3, 1e400 is
// Infinity), strings are unescaped (a lone surrogate escape and each byte of
// invalid UTF-8 become U+FFFD) and object keys keep the text's order, except
// that array-index keys come first in ascending order and a duplicated key
// keeps its first position with its last value — JavaScript's property
// order.
//
// raw may have surrounding whitespace but nothing else. Malformed JSON fails
// with ErrInvalidJSON and nesting deeper than MaxEncodeDepth with
// ErrTooDeep; on error dst is returned with its original length. AppendJSON
// does not allocate when dst has room for the output, unless an object
// needs reordering (array-index keys out of place or duplicate keys).
func AppendJSON(dst, raw []byte) ([]byte, error) {
	e := jsonEncoder{src: raw, dst: dst}
	return e.document(0)
}

// jsonEncoder encodes one JSON text from src into dst.
type jsonEncoder struct {
	src []byte
	i   int
	dst []byte
}

// member records where one object member was written in dst: its key at
// k, its value at v, up to end.
type member struct{ k, v, end int }

// document encodes the whole of e.src, the root value being at depth.
func (e *jsonEncoder) document(depth int) ([]byte, error) {
	orig := e.dst
	if err := e.value(depth); err != nil {
		return orig, err
	}
	e.ws()
	if e.i != len(e.src) {
		return orig, e.syntax("data after the JSON value")
	}
	return e.dst, nil
}

func (e *jsonEncoder) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidJSON, what, e.i)
}

func (e *jsonEncoder) ws() {
	for e.i < len(e.src) {
		switch e.src[e.i] {
		case ' ', '\t', '\n', '\r':
			e.i++
		default:
			return
		}
	}
}

// value encodes the value at e.i (after optional whitespace), which has
// depth arrays or objects around it.
func (e *jsonEncoder) value(depth int) error {
	if depth > MaxEncodeDepth {
		return fmt.Errorf("%w: more than %d levels of nesting at offset %d", ErrTooDeep, MaxEncodeDepth, e.i)
	}
	e.ws()
	if e.i >= len(e.src) {
		return e.syntax("unexpected end")
	}
	switch e.src[e.i] {
	case '{':
		return e.object(depth)
	case '[':
		return e.array(depth)
	case '"':
		return e.str()
	case 't':
		return e.literal("true", 0xc3)
	case 'f':
		return e.literal("false", 0xc2)
	case 'n':
		return e.literal("null", 0xc0)
	}
	return e.number()
}

func (e *jsonEncoder) literal(word string, b byte) error {
	if !bytes.HasPrefix(e.src[e.i:], []byte(word)) {
		return e.syntax("invalid literal")
	}
	e.i += len(word)
	e.dst = append(e.dst, b)
	return nil
}

func (e *jsonEncoder) array(depth int) error {
	e.i++ // '['
	pos := len(e.dst)
	e.dst = append(e.dst, 0x90) // header placeholder
	e.ws()
	if e.i < len(e.src) && e.src[e.i] == ']' {
		e.i++
		return nil
	}
	n := 0
	for {
		if err := e.value(depth + 1); err != nil {
			return err
		}
		n++
		e.ws()
		if e.i >= len(e.src) {
			return e.syntax("unterminated array")
		}
		switch e.src[e.i] {
		case ',':
			e.i++
		case ']':
			e.i++
			e.setHeader(pos, n, 0x90, 0xdc)
			return nil
		default:
			return e.syntax("expected ',' or ']'")
		}
	}
}

func (e *jsonEncoder) object(depth int) error {
	e.i++ // '{'
	pos := len(e.dst)
	e.dst = append(e.dst, 0x80) // header placeholder
	e.ws()
	if e.i < len(e.src) && e.src[e.i] == '}' {
		e.i++
		return nil
	}
	var small [16]member
	ms := small[:0]
	for {
		e.ws()
		if e.i >= len(e.src) || e.src[e.i] != '"' {
			return e.syntax("expected a string key")
		}
		k := len(e.dst)
		if err := e.str(); err != nil {
			return err
		}
		e.ws()
		if e.i >= len(e.src) || e.src[e.i] != ':' {
			return e.syntax("expected ':'")
		}
		e.i++
		v := len(e.dst)
		if err := e.value(depth + 1); err != nil {
			return err
		}
		ms = append(ms, member{k: k, v: v, end: len(e.dst)})
		e.ws()
		if e.i >= len(e.src) {
			return e.syntax("unterminated object")
		}
		switch e.src[e.i] {
		case ',':
			e.i++
		case '}':
			e.i++
			e.finishObject(pos, ms)
			return nil
		default:
			return e.syntax("expected ',' or '}'")
		}
	}
}

// setHeader writes the header of a container of n elements at pos, where
// one byte was reserved, moving the elements when it needs more.
func (e *jsonEncoder) setHeader(pos, n int, fix, c16 byte) {
	if n < 16 {
		e.dst[pos] = fix | byte(n)
		return
	}
	var h [5]byte
	hdr := appendContainerHeader(h[:0], uint32(n), fix, c16)
	e.dst = replaceHeader(e.dst, pos, 1, hdr)
}

// replaceHeader replaces the reserved bytes dst[pos:pos+reserved] with h,
// moving what follows.
func replaceHeader(dst []byte, pos, reserved int, h []byte) []byte {
	switch d := len(h) - reserved; {
	case d > 0:
		end := len(dst)
		dst = append(dst, h[:d]...) // grow; the bytes are overwritten below
		copy(dst[pos+len(h):], dst[pos+reserved:end])
	case d < 0:
		copy(dst[pos+len(h):], dst[pos+reserved:])
		dst = dst[:len(dst)+d]
	}
	copy(dst[pos:], h)
	return dst
}

// keyAt returns the encoded key (header included) of member m.
func (e *jsonEncoder) keyAt(m member) []byte { return e.dst[m.k:m.v] }

// finishObject writes the header of the object whose members ms were
// written after pos, first putting them in JavaScript property order if
// they are not.
func (e *jsonEncoder) finishObject(pos int, ms []member) {
	if e.inOrder(ms) {
		e.setHeader(pos, len(ms), 0x80, 0xde)
		return
	}
	// Slow path: copy the members out and write them back in order.
	base := pos + 1
	region := bytes.Clone(e.dst[base:])
	type entry struct {
		first, last int // members holding the key's position and its value
		idx         uint32
		isIdx       bool
	}
	entries := make([]entry, 0, len(ms))
	seen := make(map[string]int, len(ms))
	for i, m := range ms {
		key := string(e.keyAt(m))
		if j, dup := seen[key]; dup {
			entries[j].last = i
			continue
		}
		seen[key] = len(entries)
		idx, isIdx := encodedIndex(e.keyAt(m))
		entries = append(entries, entry{first: i, last: i, idx: idx, isIdx: isIdx})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.isIdx && b.isIdx:
			return cmp.Compare(a.idx, b.idx)
		case a.isIdx:
			return -1
		case b.isIdx:
			return 1
		}
		return 0
	})
	e.dst = e.dst[:base]
	for _, en := range entries {
		f, l := ms[en.first], ms[en.last]
		e.dst = append(e.dst, region[f.k-base:f.v-base]...)
		e.dst = append(e.dst, region[l.v-base:l.end-base]...)
	}
	e.setHeader(pos, len(entries), 0x80, 0xde)
}

// inOrder reports whether the members have distinct keys, with the
// array-index keys first and ascending.
func (e *jsonEncoder) inOrder(ms []member) bool {
	var prev uint32
	sawIdx, sawOther := false, false
	for _, m := range ms {
		idx, ok := encodedIndex(e.keyAt(m))
		switch {
		case !ok:
			sawOther = true
		case sawOther || (sawIdx && idx <= prev):
			return false
		default:
			prev, sawIdx = idx, true
		}
	}
	if len(ms) <= 16 {
		for i := 1; i < len(ms); i++ {
			ki := e.keyAt(ms[i])
			for j := 0; j < i; j++ {
				if bytes.Equal(ki, e.keyAt(ms[j])) {
					return false
				}
			}
		}
		return true
	}
	order := make([]int, len(ms))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(e.keyAt(ms[a]), e.keyAt(ms[b])) })
	for i := 1; i < len(order); i++ {
		if bytes.Equal(e.keyAt(ms[order[i-1]]), e.keyAt(ms[order[i]])) {
			return false
		}
	}
	return true
}

// encodedIndex reports whether the msgpack string key (header included) is
// an array index. Indices have at most 10 digits, so they are fixstrs.
func encodedIndex(key []byte) (uint32, bool) {
	if len(key) < 2 || len(key) > 11 || key[0] != 0xa0|byte(len(key)-1) {
		return 0, false
	}
	return arrayIndexBytes(key[1:])
}

// strPlain marks the bytes a JSON string can hold as they are: printable
// ASCII other than the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str encodes the JSON string at e.i.
func (e *jsonEncoder) str() error {
	src := e.src
	i := e.i + 1
	start := i
	escaped, nonASCII := false, false
	for {
		for i < len(src) && strPlain[src[i]] {
			i++
		}
		if i >= len(src) {
			return e.syntax("unterminated string")
		}
		c := src[i]
		if c == '"' {
			break
		}
		switch {
		case c == '\\':
			escaped = true
			if i+1 >= len(src) {
				return e.syntax("unterminated string")
			}
			switch src[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(src) || hex4(src[i+2:i+6]) < 0 {
					e.i = i
					return e.syntax("invalid \\u escape")
				}
				i += 6
			default:
				e.i = i
				return e.syntax("invalid escape")
			}
		case c < 0x20:
			e.i = i
			return e.syntax("control character in string")
		default:
			nonASCII = true
			i++
		}
	}
	body := src[start:i]
	e.i = i + 1
	if !escaped && (!nonASCII || utf8.Valid(body)) {
		e.dst = appendStrHeader(e.dst, len(body))
		e.dst = append(e.dst, body...)
		return nil
	}
	// The decoded text is at most 3 bytes per source byte (an invalid byte
	// becomes U+FFFD): reserve the header for that, then fix it.
	pos := len(e.dst)
	_, reserved := strHeader(3 * len(body))
	e.dst = append(e.dst, 0, 0, 0, 0, 0)[:pos+reserved]
	e.dst = appendUnescaped(e.dst, body)
	h, size := strHeader(len(e.dst) - pos - reserved)
	e.dst = replaceHeader(e.dst, pos, reserved, h[:size])
	return nil
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendUnescaped appends the text of a valid JSON string body: escapes are
// resolved, a surrogate escape that is not half of a pair becomes U+FFFD
// (what TextEncoder makes of a lone surrogate) and so does each byte of
// invalid UTF-8.
func appendUnescaped(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\\':
			esc := body[i+1]
			if esc == 'u' {
				r := hex4(body[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					pair := utf8.RuneError
					if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
						pair = utf16.DecodeRune(r, hex4(body[i+2:]))
					}
					if pair != utf8.RuneError {
						i += 6
					}
					r = pair
				}
				dst = utf8.AppendRune(dst, r)
				continue
			}
			switch esc {
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
				c = esc
			}
			dst = append(dst, c)
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, body[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

// number encodes the JSON number at e.i.
func (e *jsonEncoder) number() error {
	start := e.i
	end, isInt := scanNumber(e.src, start)
	if end < 0 {
		return e.syntax("invalid value")
	}
	e.i = end
	tok := e.src[start:end]
	// Integers of up to 15 digits are exact in int64 and in float64.
	if isInt && len(tok) <= 16 && (tok[0] != '-' || len(tok) > 1) {
		neg := tok[0] == '-'
		digits := tok
		if neg {
			digits = tok[1:]
		}
		if len(digits) <= 15 {
			var n int64
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			if neg {
				n = -n
			}
			e.dst = AppendInt(e.dst, n)
			return nil
		}
	}
	f, _ := parseFloat(tok)
	e.dst = AppendNumber(e.dst, f)
	return nil
}

// scanNumber returns the end of the JSON number starting at i, or -1, and
// whether it has neither fraction nor exponent.
func scanNumber(d []byte, i int) (end int, isInt bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return -1, false
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		i = digits(d, i+1)
	default:
		return -1, false
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		isInt = false
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return -1, false
		}
		i = digits(d, i)
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		isInt = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return -1, false
		}
		i = digits(d, i)
	}
	return i, isInt
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

// parseFloat converts a valid JSON number to the nearest float64, as
// JSON.parse does: overflow gives ±Inf.
func parseFloat(tok []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, false
		}
	}
	return f, true
}

// parseJSONNumber parses b if it is exactly one JSON number.
func parseJSONNumber(b []byte) (float64, bool) {
	if end, _ := scanNumber(b, 0); end != len(b) {
		return 0, false
	}
	return parseFloat(b)
}
