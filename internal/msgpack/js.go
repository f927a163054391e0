package msgpack

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// JavaScript semantics the codec reproduces: property order, number to
// string conversion, TextDecoder and JSON.stringify.

// maxArrayIndex is the largest array index, 2^32-2.
const maxArrayIndex = math.MaxUint32 - 1

// arrayIndex reports whether the property key s is an array index: the
// canonical decimal form of an integer in [0, 2^32-2]. JavaScript orders
// such keys first, in ascending numeric order.
func arrayIndex(s string) (uint32, bool) {
	if len(s) == 0 || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > maxArrayIndex {
		return 0, false
	}
	return uint32(n), true
}

func arrayIndexBytes(b []byte) (uint32, bool) {
	var buf [10]byte
	if len(b) > len(buf) {
		return 0, false
	}
	return arrayIndex(string(append(buf[:0], b...)))
}

// appendJSNumber appends the JavaScript string form of f
// (Number.prototype.toString()).
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case f != f:
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits d1.d2d3…e±x, as JavaScript chooses them.
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var digs [24]byte
	k := 0
	i := 0
	for ; s[i] != 'e'; i++ {
		if s[i] != '.' {
			digs[k] = s[i]
			k++
		}
	}
	i++ // 'e'
	neg := s[i] == '-'
	exp := 0
	for _, c := range s[i+1:] {
		exp = exp*10 + int(c-'0')
	}
	if neg {
		exp = -exp
	}
	n := exp + 1 // value = 0.d1d2… × 10^n
	d := digs[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for j := k; j < n; j++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for j := n; j < 0; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 < 0 {
			dst = append(dst, '-')
			dst = strconv.AppendInt(dst, int64(1-n), 10)
		} else {
			dst = append(dst, '+')
			dst = strconv.AppendInt(dst, int64(n-1), 10)
		}
	}
	return dst
}

// decodeText returns what JavaScript's new TextDecoder().decode(b) returns:
// a leading byte order mark is removed and invalid UTF-8 is replaced by
// U+FFFD following the Encoding Standard (one replacement per maximal
// invalid subsequence, which differs from Go's one per byte).
func decodeText(b []byte) string {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	const repl = "\uFFFD"
	var cp rune
	needed, seen := 0, 0
	lower, upper := byte(0x80), byte(0xbf)
	for i := 0; i < len(b); {
		c := b[i]
		if needed == 0 {
			i++
			switch {
			case c < 0x80:
				out = append(out, c)
			case 0xc2 <= c && c <= 0xdf:
				needed, cp = 1, rune(c&0x1f)
			case 0xe0 <= c && c <= 0xef:
				if c == 0xe0 {
					lower = 0xa0
				} else if c == 0xed {
					upper = 0x9f
				}
				needed, cp = 2, rune(c&0x0f)
			case 0xf0 <= c && c <= 0xf4:
				if c == 0xf0 {
					lower = 0x90
				} else if c == 0xf4 {
					upper = 0x8f
				}
				needed, cp = 3, rune(c&0x07)
			default:
				out = append(out, repl...)
			}
			continue
		}
		if c < lower || c > upper {
			// The sequence is cut short: replace it and read c again.
			needed, seen, cp = 0, 0, 0
			lower, upper = 0x80, 0xbf
			out = append(out, repl...)
			continue
		}
		i++
		lower, upper = 0x80, 0xbf
		cp = cp<<6 | rune(c&0x3f)
		if seen++; seen == needed {
			out = utf8.AppendRune(out, cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		out = append(out, repl...)
	}
	return string(out)
}

// appendJSONString appends s quoted as JSON.stringify quotes it: '"', '\'
// and control characters are escaped (\b \f \n \r \t or \u00xx), everything
// else is written as is. s is valid UTF-8.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
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
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
