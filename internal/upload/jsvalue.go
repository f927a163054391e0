package upload

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// The reference builds its error messages with template literals, so a
// field the client sent is shown as JavaScript's String(value) would show
// it. jsString does the same on raw JSON.

// jsString returns String(v) of the JSON value raw, "undefined" when raw is
// empty (the field was absent). Arrays are shown as their join(",") and
// objects as "[object Object]"; malformed JSON is shown as is.
func jsString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "undefined"
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '{':
		return "[object Object]"
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			parts := make([]string, len(items))
			for i, it := range items {
				if t := bytes.TrimSpace(it); !bytes.Equal(t, []byte("null")) {
					parts[i] = jsString(it)
				}
			}
			return strings.Join(parts, ",")
		}
	case 't', 'f', 'n':
		return string(raw)
	default:
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil || isRangeErr(err) {
			return jsNumber(f)
		}
	}
	return string(raw)
}

// isRangeErr reports a number too large for float64 (JSON.parse makes it
// ±Infinity, as ParseFloat does along with this error).
func isRangeErr(err error) bool { return errors.Is(err, strconv.ErrRange) }

// jsNumber formats f as JavaScript's Number.prototype.toString() does
// (ECMAScript Number::toString with radix 10).
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	var b []byte
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest round-tripping digits and exponent: d.ddddde±x.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k := len(digits)
	n := x + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		b = append(b, strings.Repeat("0", n-k)...)
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, "0."...)
		b = append(b, strings.Repeat("0", -n)...)
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return string(b)
}

// appendJSNumber appends jsNumber(f) to dst.
func appendJSNumber(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return append(dst, jsNumber(f)...)
}

// utf16Len returns the length of s in UTF-16 code units (JavaScript's
// String.prototype.length); invalid UTF-8 bytes count one each, as the
// replacement characters TextDecoder would make of them.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}
