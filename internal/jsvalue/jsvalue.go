// Package jsvalue reproduces, byte for byte, how JavaScript turns numbers
// and bytes into strings, for messages whose text the reference builds in
// JavaScript (error strings, MessagePack decoding, state re-encoding).
package jsvalue

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendNumber appends Number.prototype.toString() of f: the shortest
// decimal that reads back as f, in JavaScript's choice of plain or exponent
// form (ECMAScript Number::toString with radix 10).
func AppendNumber(dst []byte, f float64) []byte {
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
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±x, shortest
	var digs [24]byte
	k, i := 0, 0
	for ; s[i] != 'e'; i++ {
		if s[i] != '.' {
			digs[k] = s[i]
			k++
		}
	}
	exp, err := strconv.Atoi(string(s[i+1:]))
	if err != nil {
		return strconv.AppendFloat(dst, f, 'g', -1, 64) // unreachable
	}
	d, n := digs[:k], exp+1 // f = 0.d × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(append(append(dst, d[:n]...), '.'), d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(append(dst, '.'), d[1:]...)
		}
		if n-1 < 0 {
			dst = strconv.AppendInt(append(dst, 'e', '-'), int64(1-n), 10)
		} else {
			dst = strconv.AppendInt(append(dst, 'e', '+'), int64(n-1), 10)
		}
	}
	return dst
}

// Number returns Number.prototype.toString() of f as a string.
func Number(f float64) string { return string(AppendNumber(nil, f)) }

// DecodeText returns what new TextDecoder().decode(b) returns: a leading
// byte order mark is dropped and each maximal invalid UTF-8 subsequence
// becomes one U+FFFD (the Encoding Standard's decoder).
func DecodeText(b []byte) string {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
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
				out = utf8.AppendRune(out, utf8.RuneError)
			}
			continue
		}
		if c < lower || c > upper {
			// The sequence ends early: replace it and read c again.
			needed, seen, cp = 0, 0, 0
			lower, upper = 0x80, 0xbf
			out = utf8.AppendRune(out, utf8.RuneError)
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
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return string(out)
}
