package msgpack

import (
	"math"
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
