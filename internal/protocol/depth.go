package protocol

import (
	"bytes"
	"strconv"
)

// Depth returns the maximum nesting of '{' and '[' in data, counted outside
// JSON string literals (a backslash inside a literal escapes the next byte),
// the way the reference's pre-parse scan does (spec §1.3 step 4). It does not
// validate JSON: a stray closing bracket simply lowers the running depth.
//
// When limit >= 0 the scan stops as soon as the depth exceeds limit and
// returns limit+1 and exceeded == true; the caller then replies with
// DepthError(limit). A negative limit disables the early stop.
func Depth(data []byte, limit int) (depth int, exceeded bool) {
	cur := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i+1)
		case '{', '[':
			cur++
			if cur > depth {
				depth = cur
				if limit >= 0 && depth > limit {
					return depth, true
				}
			}
		case '}', ']':
			cur--
		}
	}
	return depth, false
}

// stringEnd returns the index of the quote closing the string literal whose
// body starts at i, or len(data) when the literal is unterminated. A quote is
// escaped exactly when an odd run of backslashes precedes it.
func stringEnd(data []byte, i int) int {
	for {
		q := bytes.IndexByte(data[i:], '"')
		if q < 0 {
			return len(data)
		}
		q += i
		n := 0
		for j := q - 1; j >= i && data[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// DepthError is the error text the server sends when Depth exceeds limit.
func DepthError(limit int) string {
	return "JSON nesting too deep (max " + strconv.Itoa(limit) + ")"
}
